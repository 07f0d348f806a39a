/**
 * SchemaRegistry over HTTP against a Confluent-compatible registry (Confluent Schema Registry, or Apicurio's ccompat
 * API at /apis/ccompat/v7), through @confluentinc/schemaregistry's SchemaRegistryClient (caching, retries with
 * backoff on 408/429/5xx). Only this file and the registry contract know about that package.
 */
import { Compatibility, RestError, SchemaRegistryClient, type Client } from '@confluentinc/schemaregistry';
import { TributaryError, type ErrorCode } from '../errors/index.ts';
import { componentLogger } from '../logging/logger.ts';
import { normalizeSchemaText, parseAvroSchema } from './avro-schema.ts';
import type { RegisteredSchema, SchemaRegistry } from './registry.ts';

export interface ConfluentSchemaRegistryOptions {
  /** Base URL, e.g. http://127.0.0.1:8081/apis/ccompat/v7 (TRIBUTARY_SCHEMA_REGISTRY_URL). */
  url: string;
  /** Retries of retriable HTTP failures (default 3, the client's own default). */
  maxRetries?: number;
  /** Per-request timeout in ms (default 10 000). */
  timeoutMs?: number;
  /** How long `latest()` answers from cache (default 30 s) so another process's new version is seen eventually. */
  latestCacheSeconds?: number;
}

export class ConfluentSchemaRegistry implements SchemaRegistry {
  private readonly log = componentLogger('schema-registry', { kind: 'confluent' });
  private readonly client: Client;
  private readonly url: string;
  /** Subjects whose compatibility this process already set to BACKWARD. */
  private readonly backwardSet = new Set<string>();

  constructor(options: ConfluentSchemaRegistryOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.client = new SchemaRegistryClient({
      baseURLs: [this.url],
      maxRetries: options.maxRetries ?? 3,
      cacheLatestTtlSecs: options.latestCacheSeconds ?? 30,
      createAxiosDefaults: { timeout: options.timeoutMs ?? 10_000 },
    });
  }

  async register(subject: string, schemaText: string): Promise<number> {
    const schema = normalizeSchemaText(schemaText);
    parseAvroSchema(schema); // invalid Avro fails here with a clear message instead of the registry's 422
    const setAfter = !(await this.ensureBackward(subject, false));
    try {
      const id = await this.client.register(subject, { schemaType: 'AVRO', schema }, false);
      this.client.clearLatestCaches();
      if (setAfter) await this.ensureBackward(subject, true);
      this.log.debug({ subject, id }, 'schema registered');
      return id;
    } catch (err) {
      throw this.toError(err, `register a schema for ${subject}`, { subject });
    }
  }

  async getSchema(id: number): Promise<string> {
    try {
      // The id endpoint takes an optional subject (to pick a context); ids are global here, so none is given.
      const info = await this.client.getBySubjectAndId('', id);
      return info.schema;
    } catch (err) {
      throw this.toError(err, `fetch schema id ${id}`, { id });
    }
  }

  async latest(subject: string): Promise<RegisteredSchema | undefined> {
    try {
      const meta = await this.client.getLatestSchemaMetadata(subject);
      if (meta.id === undefined || meta.version === undefined) {
        throw new TributaryError('RegistryUnavailable', `Registry at ${this.url} answered the latest version of ${subject} without an id or version.`);
      }
      return { id: meta.id, subject, version: meta.version, schema: meta.schema };
    } catch (err) {
      if (err instanceof RestError && err.status === 404) return undefined;
      throw this.toError(err, `read the latest schema of ${subject}`, { subject });
    }
  }

  async checkCompatibility(subject: string, schemaText: string): Promise<boolean> {
    const schema = normalizeSchemaText(schemaText);
    parseAvroSchema(schema);
    try {
      return await this.client.testSubjectCompatibility(subject, { schemaType: 'AVRO', schema });
    } catch (err) {
      // Confluent answers 404 for a subject with no versions: anything may become its first version.
      if (err instanceof RestError && err.status === 404) return true;
      throw this.toError(err, `check compatibility for ${subject}`, { subject });
    }
  }

  async close(): Promise<void> {
    this.client.close();
  }

  /**
   * Pins the subject's compatibility to BACKWARD (DESIGN.md §5) instead of trusting the registry's global default,
   * which is NONE on a fresh Apicurio. Some registries refuse config for a subject that does not exist yet (404); then
   * it is set right after the first version is registered — a first version has nothing to be incompatible with.
   * Returns whether the level is set.
   */
  private async ensureBackward(subject: string, mustSucceed: boolean): Promise<boolean> {
    if (this.backwardSet.has(subject)) return true;
    try {
      await this.client.updateCompatibility(subject, Compatibility.BACKWARD);
      this.backwardSet.add(subject);
      return true;
    } catch (err) {
      if (!mustSucceed && err instanceof RestError && err.status === 404) return false;
      throw this.toError(err, `set compatibility BACKWARD on ${subject}`, { subject });
    }
  }

  private toError(err: unknown, action: string, details: Record<string, unknown>): TributaryError {
    if (err instanceof TributaryError) return err;
    if (err instanceof RestError) {
      // Assert on the HTTP status: Apicurio answers an incompatible schema with 409 but error_code 0, not 409.
      const [code, hint] = restErrorCode(err.status);
      return new TributaryError(code, `Schema registry refused to ${action}: HTTP ${err.status} ${err.message}${hint}`, { cause: err, details: { ...details, status: err.status, errorCode: err.errorCode } });
    }
    const message = err instanceof Error ? err.message : String(err);
    return new TributaryError('RegistryUnavailable', `Cannot reach the schema registry at ${this.url} to ${action} (${message}); check TRIBUTARY_SCHEMA_REGISTRY_URL and that the registry is running.`, { cause: err, details });
  }
}

function restErrorCode(status: number): [ErrorCode, string] {
  if (status === 409) return ['SchemaIncompatible', '; the change is not BACKWARD-compatible: give new fields defaults, keep enum symbols and names, or use a new subject.'];
  if (status === 404) return ['SchemaNotFound', '; the registry does not know it (another registry, or deleted).'];
  if (status === 422 || status === 400) return ['ArgumentInvalid', '; the schema is not valid Avro for the registry.'];
  if (status === 401 || status === 403) return ['ConfigInvalid', '; check the registry credentials.'];
  return ['RegistryUnavailable', '; retry later.'];
}
