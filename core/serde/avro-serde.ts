/**
 * Avro values in the Confluent wire format (DESIGN.md §5). Encoding uses the latest schema registered for the
 * topic's subject; decoding finds the writer's schema by the id in the header and resolves it to the reader's schema
 * — the newest version of the same record in this code's catalog — so code built against v2 reads v1 records with
 * v2's defaults filled in.
 *
 * Why our own framing over avsc rather than @confluentinc/schemaregistry's AvroSerializer/AvroDeserializer: those
 * take the package's `Client`, not our SchemaRegistry, so the embedded mode would need a fake Client; they serialize
 * with the writer schema only (no resolution to a reader version of our choosing); and their errors are not our codes.
 * The wire format is five bytes (wire-format.ts) and the Avro work is avsc either way — the package uses avsc too.
 */
import type avro from 'avsc';
import { TributaryError, toTributaryError } from '../errors/index.ts';
import { componentLogger } from '../logging/logger.ts';
import { describeInvalidValue, fullNameOf, parseAvroSchema, schemaKey, type AvroType } from './avro-schema.ts';
import type { SchemaRegistry } from './registry.ts';
import { subjectForTopic, type SchemaCatalog, type SubjectNameStrategy } from './schema-catalog.ts';
import { bodyOf, HEADER_SIZE, readSchemaId, writeHeader } from './wire-format.ts';

/** Encoding scratch space, shared by every serde (encoding is synchronous); grows for large values. */
let scratch = Buffer.allocUnsafe(64 * 1024);

export interface AvroSerdeOptions {
  /**
   * When a topic's subject has no version yet, register the catalog's versions for it before encoding (default true).
   * Needed for `iot.route.<endpoint>` topics, which appear at run time; registers only schemas checked in to schemas/.
   */
  autoRegister?: boolean;
  /** Topic → subject; default TopicNameStrategy (`<topic>-value`). Tests use it to keep each run's subjects apart. */
  subjectNameStrategy?: SubjectNameStrategy;
}

interface Writer {
  readonly id: number;
  readonly type: AvroType;
}

interface Reader {
  readonly type: AvroType;
  readonly resolver: avro.Resolver | undefined;
}

export class AvroSerde {
  private readonly log = componentLogger('avro-serde');
  private readonly autoRegister: boolean;
  private readonly subjectFor: SubjectNameStrategy;
  /** Subject → the schema values are written with (cached: the latest version rarely changes while running). */
  private readonly writers = new Map<string, Promise<Writer>>();
  /** The settled entries of `writers`, for `encodeSync`. */
  private readonly resolvedWriters = new Map<string, Writer>();
  /**
   * `resolvedWriters` by topic, filled by `encodeSync`: the subject name is a new string per call (`${topic}-value`)
   * that the map must hash every time, a visible cost per ingested message; a topic string is hashed once.
   */
  private readonly writersByTopic = new Map<string, Writer>();
  /** Schema id → parsed writer schema. Ids are immutable, so this never goes stale. */
  private readonly writerSchemas = new Map<number, Promise<{ key: string; type: AvroType }>>();
  /** `${id}|${topic}` → reader type and resolver. */
  private readonly readers = new Map<string, Promise<Reader>>();
  /** The settled entries of `readers`, for `decodeSync`: topic ('' for none) → schema id → reader. */
  private readonly resolvedReaders = new Map<string, Map<number, Reader>>();

  constructor(
    private readonly registry: SchemaRegistry,
    private readonly catalog: SchemaCatalog,
    options: AvroSerdeOptions = {},
  ) {
    this.autoRegister = options.autoRegister ?? true;
    this.subjectFor = options.subjectNameStrategy ?? subjectForTopic;
  }

  /** Serialises `value` for `topic`: magic byte 0, the schema id, the Avro body. */
  async encode(topic: string, value: unknown): Promise<Buffer> {
    return this.encodeWith(await this.writerFor(topic), topic, value);
  }

  /**
   * `encode` without the promise, for per-message hot paths (ingest): undefined until the topic's writer schema has
   * been looked up once (by `encode` or `prepare`) — the caller then takes the async path. Same bytes as `encode`.
   */
  encodeSync(topic: string, value: unknown): Buffer | undefined {
    let writer = this.writersByTopic.get(topic);
    if (writer === undefined) {
      writer = this.resolvedWriters.get(this.subjectFor(topic));
      if (writer === undefined) return undefined;
      this.writersByTopic.set(topic, writer);
    }
    return this.encodeWith(writer, topic, value);
  }

  /** Looks up the writer schema of `topic` now, so that `encodeSync` works from then on. */
  async prepare(topic: string): Promise<void> {
    await this.writerFor(topic);
  }

  /**
   * The schema id and type `encode(topic, …)` writes with, once looked up (by `encode` or `prepare`); a new object
   * after `refresh()`. For code that writes Avro bytes itself (enrich splices fields into records it did not decode).
   */
  writerOf(topic: string): { readonly id: number; readonly type: AvroType } | undefined {
    return this.resolvedWriters.get(this.subjectFor(topic));
  }

  /** The schema a framed value with this id was written with (from the registry, cached: ids are immutable). */
  async schemaOfId(id: number): Promise<AvroType> {
    return (await this.writerSchema(id)).type;
  }

  /**
   * Header and body are written into one reused scratch buffer and copied out once: `toBuffer` + a framing copy cost a
   * zero-filled allocation and two copies per value, a visible share of ingest's CPU per message.
   */
  private encodeWith(writer: Writer, topic: string, value: unknown): Buffer {
    let end: number;
    try {
      end = writer.type.encode(value, scratch, HEADER_SIZE);
      if (end < 0) {
        // Too small by -end bytes: grow (rarely: values above the scratch size) and write again.
        scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end + HEADER_SIZE));
        end = writer.type.encode(value, scratch, HEADER_SIZE);
      }
    } catch (err) {
      throw new TributaryError('SerializationFailed', `Value for ${topic} does not match schema id ${writer.id} (${fullNameOf(writer.type) ?? 'schema'}): ${describeInvalidValue(writer.type, value)}.`, { cause: err, details: { topic, schemaId: writer.id } });
    }
    writeHeader(scratch, writer.id);
    const out = Buffer.allocUnsafe(end);
    scratch.copy(out, 0, 0, end);
    return out;
  }

  /**
   * Deserialises a framed value. With `topic`, the reader is the catalog's latest schema for that topic; without, the
   * catalog's latest version of the writer's record name; when the catalog has none (a foreign schema) or the writer
   * is newer than this code in a way its schema cannot be read as the reader (not FORWARD-compatible), the writer
   * schema itself. Bytes fields of the result are views into `buffer`.
   */
  async decode<T = Record<string, unknown>>(buffer: Buffer, topic?: string): Promise<T> {
    const id = readSchemaId(buffer);
    return this.decodeWith<T>(await this.readerFor(id, topic), id, buffer, topic);
  }

  /**
   * `decode` without the promise, for per-record hot paths (connectors decoding batches of thousands): undefined until
   * the reader for the value's schema id and `topic` has been looked up once by `decode` — the caller then takes the
   * async path. Same value, same errors as `decode`.
   */
  decodeSync<T = Record<string, unknown>>(buffer: Buffer, topic?: string): T | undefined {
    const id = readSchemaId(buffer);
    const reader = this.resolvedReaders.get(topic ?? '')?.get(id);
    return reader === undefined ? undefined : this.decodeWith<T>(reader, id, buffer, topic);
  }

  private decodeWith<T>(reader: Reader, id: number, buffer: Buffer, topic: string | undefined): T {
    let value: unknown;
    try {
      value = reader.type.fromBuffer(bodyOf(buffer), reader.resolver);
    } catch (err) {
      throw new TributaryError('SerializationFailed', `Avro body with schema id ${id} does not decode (${(err as Error).message}); the bytes are damaged or were not written with that schema.`, { cause: err, details: { schemaId: id, topic } });
    }
    // avsc returns records as instances of generated classes; callers (and deepStrictEqual) expect plain objects.
    return (value !== null && typeof value === 'object' && !Buffer.isBuffer(value) ? { ...value } : value) as T;
  }

  /** Forgets cached writer schemas so the next encode reads the registry's latest version again. */
  refresh(): void {
    this.writers.clear();
    this.resolvedWriters.clear();
    this.writersByTopic.clear();
  }

  private writerFor(topic: string): Promise<Writer> {
    const subject = this.subjectFor(topic);
    return cached(this.writers, subject, async () => {
      let latest = await this.registry.latest(subject);
      if (latest === undefined && this.autoRegister) {
        const versions = this.catalog.versionsForTopic(topic);
        for (const version of versions) await this.registry.register(subject, version.text);
        if (versions.length > 0) this.log.info({ subject, versions: versions.length }, 'registered catalog schemas on first use');
        latest = await this.registry.latest(subject);
      }
      if (latest === undefined) {
        throw new TributaryError('SchemaNotFound', `No schema is registered for ${subject} (topic ${topic}); add schemas/${subject}/v1.avsc and register it at start-up (registerAllSchemas).`, { details: { subject, topic } });
      }
      const type = this.catalog.find(latest.schema)?.type ?? parseAvroSchema(latest.schema);
      const writer = { id: latest.id, type };
      this.resolvedWriters.set(subject, writer);
      this.writersByTopic.clear(); // a topic may map to this subject: look it up again (rare: first use, refresh)
      return writer;
    });
  }

  private writerSchema(id: number): Promise<{ key: string; type: AvroType }> {
    return cached(this.writerSchemas, id, async () => {
      const text = await this.registry.getSchema(id);
      const type = this.catalog.find(text)?.type ?? parseAvroSchema(text);
      return { key: schemaKey(text), type };
    });
  }

  private readerFor(id: number, topic: string | undefined): Promise<Reader> {
    return cached(this.readers, `${id}|${topic ?? ''}`, async () => {
      const reader = await this.newReader(id, topic);
      let byId = this.resolvedReaders.get(topic ?? '');
      if (byId === undefined) this.resolvedReaders.set(topic ?? '', (byId = new Map()));
      byId.set(id, reader);
      return reader;
    });
  }

  private async newReader(id: number, topic: string | undefined): Promise<Reader> {
    const writer = await this.writerSchema(id);
    const writerName = fullNameOf(writer.type);
    const candidate = topic !== undefined
      ? this.catalog.latestForTopic(topic)
      : writerName !== undefined ? this.catalog.latestForName(writerName) : undefined;
    if (candidate === undefined || candidate.key === writer.key) return { type: candidate?.type ?? writer.type, resolver: undefined };
    try {
      return { type: candidate.type, resolver: candidate.type.createResolver(writer.type) };
    } catch (err) {
      this.log.warn({ schemaId: id, topic, reader: `${candidate.subject} v${candidate.version}`, reason: (err as Error).message },
        'writer schema cannot be read as this code\'s schema; decoding with the writer schema');
      return { type: writer.type, resolver: undefined };
    }
  }
}

/** Memoises a promise per key; a failed lookup is forgotten so the next call retries (registry briefly down). */
function cached<K, V>(map: Map<K, Promise<V>>, key: K, load: () => Promise<V>): Promise<V> {
  const hit = map.get(key);
  if (hit !== undefined) return hit;
  const promise = load().catch((err: unknown) => {
    map.delete(key);
    throw toTributaryError(err, 'RegistryUnavailable');
  });
  map.set(key, promise);
  return promise;
}

/**
 * Registers every version of every topic's schema in the catalog, oldest first, plus those of `extraTopics` (e.g. the
 * configured `iot.route.<endpoint>` topics). Returns subject → ids in version order. Idempotent: already-registered versions keep their ids. Run at start-up;
 * a SchemaIncompatible here means a checked-in schema broke the BACKWARD rule (schemas/README.md).
 */
export async function registerAllSchemas(
  registry: SchemaRegistry,
  catalog: SchemaCatalog,
  options: { extraTopics?: readonly string[]; subjectNameStrategy?: SubjectNameStrategy } = {},
): Promise<Map<string, number[]>> {
  const subjectFor = options.subjectNameStrategy ?? subjectForTopic;
  const result = new Map<string, number[]>();
  for (const topic of [...catalog.topics(), ...(options.extraTopics ?? [])]) {
    const subject = subjectFor(topic);
    if (result.has(subject)) continue;
    const versions = catalog.versionsForTopic(topic);
    if (versions.length === 0) {
      throw new TributaryError('ConfigInvalid', `No schema in schemas/ for topic ${topic}; only iot.route.<endpoint> topics and topics with a schemas/<topic>-value directory can be registered.`);
    }
    const ids: number[] = [];
    for (const version of versions) ids.push(await registry.register(subject, version.text));
    result.set(subject, ids);
  }
  componentLogger('avro-serde').info({ subjects: result.size }, 'schemas registered');
  return result;
}
