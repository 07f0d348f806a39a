/**
 * The pre-insert check that makes a plain `count()` exact: before a batch is inserted, ask which of its
 * (device_id, module_id, dedupe_id) keys the table already holds, and insert only the others. A partition is written
 * by one consumer at a time and the sink serialises its writes, so a replayed batch (crash after the insert, before
 * the offset commit) finds its own rows and adds nothing; ReplacingMergeTree's merges are the safety net behind it.
 *
 * The keys travel as ClickHouse "external data" (a TabSeparated table sent as multipart/form-data beside the query,
 * 18.16 included), not as literals in the statement: nothing a device sends is ever parsed as SQL, and ClickHouse
 * reads a 5000-key table for about a sixth of the CPU it spends parsing the same keys as 5000 tuple literals (18.16
 * builds an AST node per literal). The statement is fixed text plus two integers.
 */
import { TABLES, qualifiedTable, type TableName } from './tables.ts';

export type RowKey = readonly [deviceId: string, moduleId: string, dedupeId: string];

/** Keys per SELECT: bounds one request's key table and answer. */
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

/** The external table holding the batch's keys, and its columns (ClickHouse's `<name>_structure` parameter). */
export const KEYS_TABLE = 'batch_keys';
export const KEYS_STRUCTURE = 'device_id String, module_id String, dedupe_id String';

/** A TabSeparated field: ClickHouse's TSV escapes for the bytes that would end a field or a row, and backslash. */
export function tsvField(value: string): string {
  return /[\\\t\n\r\0]/.test(value) ? value.replace(/[\\\t\n\r\0]/g, (ch) => TSV_ESCAPES[ch]!) : value;
}
const TSV_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/** The keys as the external table's TabSeparated body: one row per key. */
export function keysTsv(keys: readonly RowKey[]): string {
  let out = '';
  for (const [device, module, dedupe] of keys) out += `${tsvField(device)}\t${tsvField(module)}\t${tsvField(dedupe)}\n`;
  return out;
}

/**
 * SELECT of the rows of `table` whose key is in the external table KEYS_TABLE, within [fromMs − window, toMs + window].
 * The time range and device list let ClickHouse use the sort key (device_id, time, …) instead of scanning the table,
 * and PREWHERE on dedupe_id reads the other key columns only for granules with a candidate, so the cost is bounded by
 * the batch's devices and time span; the tuple condition makes the answer exact (at most one row per key and copy).
 */
export function existingKeysSql(database: string, table: TableName, range: { fromMs: number; toMs: number; windowSeconds: number }): string {
  const time = `\`${TABLES[table].timeColumn}\``;
  const lo = Math.max(0, Math.floor(range.fromMs / 1000) - range.windowSeconds);
  const hi = Math.floor(range.toMs / 1000) + 1 + range.windowSeconds;
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) throw new RangeError(`bad time range ${range.fromMs}…${range.toMs}`);
  return [
    `SELECT device_id, module_id, dedupe_id FROM ${qualifiedTable(database, table)}`,
    `PREWHERE dedupe_id IN (SELECT dedupe_id FROM ${KEYS_TABLE})`,
    `WHERE ${time} >= toDateTime(${lo}) AND ${time} <= toDateTime(${hi})`,
    `  AND device_id IN (SELECT device_id FROM ${KEYS_TABLE})`,
    `  AND (device_id, module_id, dedupe_id) IN ${KEYS_TABLE}`,
    'FORMAT JSONEachRow',
  ].join('\n');
}
