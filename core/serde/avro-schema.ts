/**
 * Avro schema text helpers shared by the catalog, both registries and the serde: parsing with avsc, the normal form
 * used to compare schema texts, and the BACKWARD rule.
 */
import avro from 'avsc';
import { TributaryError } from '../errors/index.ts';

export type AvroType = avro.Type;

/**
 * One spelling per schema: JSON re-serialised without whitespace, keys in the order written. Both registries get this
 * form, so the same schema registered twice (even re-indented) is recognised as the same schema and keeps its id —
 * Apicurio hashes the text as sent, so whitespace differences would otherwise mint new ids (infra-notes §2.4).
 */
export function normalizeSchemaText(schemaText: string): string {
  try {
    return JSON.stringify(JSON.parse(schemaText));
  } catch (err) {
    throw new TributaryError('ArgumentInvalid', `Schema text is not valid JSON (${(err as Error).message}); fix the .avsc file or the schema string.`, { cause: err });
  }
}

/**
 * A key equal for schema texts that differ only in whitespace or JSON key order (object keys sorted recursively; arrays
 * such as fields and symbols keep their order, which matters in Avro). Registries may hand a schema back reordered —
 * Apicurio puts `doc` before `default` — so this, not the text, is how a registry's schema is matched to a catalog file.
 */
export function schemaKey(schemaText: string): string {
  return JSON.stringify(sortKeys(JSON.parse(schemaText)));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}

/**
 * Parses Avro schema text with avsc. `strictUnions` (used for the project's own schemas) makes avsc refuse unions it
 * could not map to plain JS values unambiguously, so every decoded value is a plain value, never a `{ string: … }` wrapper.
 */
export function parseAvroSchema(schemaText: string, options: { strictUnions?: boolean } = {}): AvroType {
  let schema: unknown;
  try {
    schema = JSON.parse(schemaText);
  } catch (err) {
    throw new TributaryError('ArgumentInvalid', `Schema text is not valid JSON (${(err as Error).message}); fix the schema.`, { cause: err });
  }
  try {
    return avro.Type.forSchema(schema as avro.Schema, { wrapUnions: options.strictUnions ? false : 'auto' });
  } catch (err) {
    throw new TributaryError('ArgumentInvalid', `Schema is not valid Avro: ${(err as Error).message}; fix the schema.`, { cause: err });
  }
}

/** Full name of a named top-level type (`dev.tributary.DeviceMessage`), undefined for primitives, arrays, maps, unions. */
export function fullNameOf(type: AvroType): string | undefined {
  return type.name ?? undefined;
}

/**
 * BACKWARD compatibility as Confluent defines it: consumers on the new schema must read data written with the old one.
 * In Avro terms the new schema is the *reader* and the old one the *writer*, i.e. avsc's
 * `readerNew.createResolver(writerOld)` must succeed (avsc's `createResolver` is called on the reader and takes the
 * writer). It fails when, e.g., the new schema adds a field without a default, removes an enum symbol or renames the
 * record. Returns why it is incompatible, or undefined when it is compatible.
 */
export function backwardIncompatibility(readerNew: AvroType, writerOld: AvroType): string | undefined {
  try {
    readerNew.createResolver(writerOld);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Collects `path: problem` lines for a value that does not match its schema, for a SerializationFailed message. */
export function describeInvalidValue(type: AvroType, value: unknown, limit = 5): string {
  const problems: string[] = [];
  type.isValid(value, {
    errorHook: (path: string[], any: unknown, t: AvroType) => {
      if (problems.length < limit) {
        const shown = any === undefined ? 'undefined' : truncate(safeJson(any), 60);
        problems.push(`${path.join('.') || '(value)'} should be ${truncate(safeJson(t.schema()), 60)} but is ${shown}`);
      }
    },
  });
  return problems.length > 0 ? problems.join('; ') : 'the value does not match the schema';
}

function safeJson(value: unknown): string {
  try {
    return Buffer.isBuffer(value) ? `<${value.length} bytes>` : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
