/**
 * The embedded-mode schema registry (DESIGN.md §8): the Confluent model — global content ids, per-subject versions,
 * BACKWARD compatibility checked against the latest version — kept in memory and persisted to one JSON file in the
 * data dir. Ids must survive restarts because the embedded log keeps records whose 5-byte header references them.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TributaryError } from '../errors/index.ts';
import { componentLogger } from '../logging/logger.ts';
import { backwardIncompatibility, normalizeSchemaText, parseAvroSchema, schemaKey } from './avro-schema.ts';
import type { RegisteredSchema, SchemaRegistry } from './registry.ts';

export const REGISTRY_FILE_NAME = 'schema-registry.json';

/** On-disk layout. `format` lets a later version migrate the file. */
interface RegistryFile {
  format: 1;
  /** Every distinct schema text with its global id. */
  schemas: { id: number; schema: string }[];
  /** Subject → schema ids, in version order (index 0 = version 1). */
  subjects: Record<string, number[]>;
}

export interface InProcessSchemaRegistryOptions {
  /** Directory for schema-registry.json; omit for a memory-only registry (tests). */
  dataDir?: string;
}

export class InProcessSchemaRegistry implements SchemaRegistry {
  private readonly log = componentLogger('schema-registry', { kind: 'in-process' });
  private readonly file: string | undefined;
  private readonly textById = new Map<number, string>();
  /** schemaKey → id: a schema re-sent with other whitespace or key order is the same schema (Confluent canonicalises too). */
  private readonly idByKey = new Map<string, number>();
  private readonly subjects = new Map<string, number[]>();
  private nextId = 1;
  /** Registrations run one at a time so a version number and the file write can never interleave. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(file: string | undefined) {
    this.file = file;
  }

  /** Opens (or creates) the registry; with a data dir, loads the ids and versions registered before. */
  static async open(options: InProcessSchemaRegistryOptions = {}): Promise<InProcessSchemaRegistry> {
    const file = options.dataDir === undefined ? undefined : join(options.dataDir, REGISTRY_FILE_NAME);
    const registry = new InProcessSchemaRegistry(file);
    if (file !== undefined) await registry.load(file);
    return registry;
  }

  async register(subject: string, schemaText: string): Promise<number> {
    this.assertOpen();
    const text = normalizeSchemaText(schemaText);
    const type = parseAvroSchema(text);
    const run = this.queue.then(async () => {
      const versions = this.subjects.get(subject) ?? [];
      const key = schemaKey(text);
      const existing = this.idByKey.get(key);
      if (existing !== undefined && versions.includes(existing)) return existing;
      const latestId = versions[versions.length - 1];
      if (latestId !== undefined) {
        const reason = backwardIncompatibility(type, parseAvroSchema(this.schemaText(latestId)));
        if (reason !== undefined) {
          throw new TributaryError('SchemaIncompatible', `Schema for ${subject} is not BACKWARD-compatible with version ${versions.length} (${reason}); give new fields defaults, keep enum symbols and names, or use a new subject.`, { details: { subject, version: versions.length } });
        }
      }
      const id = existing ?? this.nextId;
      const nextVersions = [...versions, id];
      await this.persist(subject, nextVersions, existing === undefined ? { id, schema: text } : undefined);
      if (existing === undefined) {
        this.textById.set(id, text);
        this.idByKey.set(key, id);
        this.nextId = id + 1;
      }
      this.subjects.set(subject, nextVersions);
      this.log.info({ subject, version: nextVersions.length, id }, 'schema registered');
      return id;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async getSchema(id: number): Promise<string> {
    this.assertOpen();
    const text = this.textById.get(id);
    if (text === undefined) {
      throw new TributaryError('SchemaNotFound', `Schema id ${id} is not in the in-process registry${this.file ? ` (${this.file})` : ''}; the record was written against another registry or the registry file was replaced.`, { details: { id } });
    }
    return text;
  }

  async latest(subject: string): Promise<RegisteredSchema | undefined> {
    this.assertOpen();
    const versions = this.subjects.get(subject);
    const id = versions?.[versions.length - 1];
    if (versions === undefined || id === undefined) return undefined;
    return { id, subject, version: versions.length, schema: this.schemaText(id) };
  }

  async checkCompatibility(subject: string, schemaText: string): Promise<boolean> {
    this.assertOpen();
    const type = parseAvroSchema(normalizeSchemaText(schemaText));
    const latest = await this.latest(subject);
    if (latest === undefined) return true;
    return backwardIncompatibility(type, parseAvroSchema(latest.schema)) === undefined;
  }

  async close(): Promise<void> {
    await this.queue;
    this.closed = true;
  }

  private schemaText(id: number): string {
    const text = this.textById.get(id);
    if (text === undefined) throw new TributaryError('ServerError', `In-process registry lost schema id ${id}; its file is inconsistent.`);
    return text;
  }

  private assertOpen(): void {
    if (this.closed) throw new TributaryError('ServerError', 'The in-process schema registry is closed; open a new one.');
  }

  private async load(file: string): Promise<void> {
    let raw: string;
    try {
      raw = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new TributaryError('ConfigInvalid', `Cannot read the schema registry file ${file}: ${(err as Error).message}.`, { cause: err });
    }
    let data: RegistryFile;
    try {
      data = JSON.parse(raw) as RegistryFile;
      if (data.format !== 1 || !Array.isArray(data.schemas) || typeof data.subjects !== 'object') throw new Error('unexpected layout');
    } catch (err) {
      throw new TributaryError('ConfigInvalid', `Schema registry file ${file} is damaged (${(err as Error).message}); restore it from a backup — records on the embedded log reference its ids.`, { cause: err });
    }
    for (const { id, schema } of data.schemas) {
      this.textById.set(id, schema);
      this.idByKey.set(schemaKey(schema), id);
      this.nextId = Math.max(this.nextId, id + 1);
    }
    for (const [subject, ids] of Object.entries(data.subjects)) this.subjects.set(subject, [...ids]);
    this.log.debug({ file, schemas: data.schemas.length, subjects: this.subjects.size }, 'schema registry loaded');
  }

  /**
   * Writes the whole registry with the pending change to a temporary file, fsyncs it and renames it over the old one
   * (then fsyncs the directory), so a crash leaves either the old or the new file, never half of one.
   */
  private async persist(subject: string, versions: number[], added: { id: number; schema: string } | undefined): Promise<void> {
    if (this.file === undefined) return;
    const schemas = [...this.textById].map(([id, schema]) => ({ id, schema }));
    if (added !== undefined) schemas.push(added);
    const subjects = Object.fromEntries(this.subjects);
    subjects[subject] = versions;
    const data: RegistryFile = { format: 1, schemas, subjects };
    const dir = dirname(this.file);
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      await mkdir(dir, { recursive: true });
      const handle = await open(tmp, 'w');
      try {
        await handle.writeFile(JSON.stringify(data, null, 1));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.file);
      const dirHandle = await open(dir, 'r');
      try {
        await dirHandle.sync();
      } finally {
        await dirHandle.close();
      }
    } catch (err) {
      throw new TributaryError('ServerError', `Cannot write the schema registry file ${this.file}: ${(err as Error).message}; check the data dir's permissions and free space.`, { cause: err });
    }
  }
}
