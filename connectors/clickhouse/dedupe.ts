/**
 * The pre-insert check that makes a plain `count()` exact: before a batch is inserted, ask which of its
 * (device_id, module_id, dedupe_id) keys the table already holds, and insert only the others. A partition is written
 * by one consumer at a time and the sink serialises its writes, so a replayed batch (crash after the insert, before
 * the offset commit) finds its own rows and adds nothing; ReplacingMergeTree's merges are the safety net behind it.
 *
 * ClickHouse 18.16 has no query parameters, so the keys travel as string literals in which every byte outside
 * [A-Za-z0-9_.:/@-] is written as a `\xHH` escape (ClickHouse's string literal syntax, 18.16 included). A quote or a
 * backslash in a message id can therefore never reach the statement as itself: the literal holds only those safe
 * characters, backslashes that start `\x` escapes and hex digits. (Plain literals parse several times faster than
 * `unhex('…')` calls in a long IN list.)
 */
import { TABLES, qualifiedTable, type TableName } from './tables.ts';

export type RowKey = readonly [deviceId: string, moduleId: string, dedupeId: string];

/** Keys per SELECT; keeps each statement under ~1 MB so it parses fast (max_query_size is raised to fit). */
export const KEYS_PER_QUERY = 5_000;

export function keyId(key: RowKey): string {
  return JSON.stringify(key);
}

const SAFE_BYTE = /^[A-Za-z0-9_.:/@-]$/;
const SAFE_TEXT = /^[A-Za-z0-9_.:/@-]*$/;

/** A ClickHouse string literal for any text: safe ASCII as is, every other UTF-8 byte as `\xHH`. */
export function stringLiteral(value: string): string {
  if (SAFE_TEXT.test(value)) return `'${value}'`;
  let out = "'";
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && SAFE_BYTE.test(ch) ? ch : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${out}'`;
}

/**
 * SELECT of the keys among `keys` that `table` already holds within [fromMs − window, toMs + window]. The time range
 * and device list let ClickHouse use the sort key (device_id, time, …) instead of scanning the table.
 */
export function existingKeysSql(database: string, table: TableName, keys: readonly RowKey[], range: { fromMs: number; toMs: number; windowSeconds: number }): string {
  if (keys.length === 0) throw new RangeError('existingKeysSql needs at least one key');
  const time = `\`${TABLES[table].timeColumn}\``;
  const lo = Math.max(0, Math.floor(range.fromMs / 1000) - range.windowSeconds);
  const hi = Math.floor(range.toMs / 1000) + 1 + range.windowSeconds;
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) throw new RangeError(`bad time range ${range.fromMs}…${range.toMs}`);
  const devices = [...new Set(keys.map((k) => k[0]))].map(stringLiteral);
  const tuples = keys.map((k) => `(${k.map(stringLiteral).join(', ')})`);
  // A one-element list `IN ((a, b, c))` could be read as a list of three scalars; two copies are unambiguous.
  if (tuples.length === 1) tuples.push(tuples[0]!);
  if (devices.length === 1) devices.push(devices[0]!);
  return [
    `SELECT device_id, module_id, dedupe_id FROM ${qualifiedTable(database, table)}`,
    `WHERE ${time} >= toDateTime(${lo}) AND ${time} <= toDateTime(${hi})`,
    `  AND device_id IN (${devices.join(', ')})`,
    `  AND (device_id, module_id, dedupe_id) IN (${tuples.join(', ')})`,
  ].join('\n');
}
