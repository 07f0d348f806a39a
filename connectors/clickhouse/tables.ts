/**
 * The three analytics tables as data: one list of columns gives the DDL for either layout, the insert column list
 * and the check of an existing table. docs/analytics.md documents the same columns (a unit test keeps them in step).
 *
 * Two layouts, because ClickHouse 18.16 (Debian's, what CI runs) lacks DateTime64, Map and (without an experimental
 * setting) LowCardinality:
 * - `modern` (22.1+): DateTime64(3, 'UTC'), LowCardinality(String), Map(String, String);
 * - `legacy`: DateTime('UTC') (seconds), plain String, Nested(keys String, values String).
 * Both carry the same `*_epoch_ms UInt64` column and expose properties as `<name>.keys` / `<name>.values` arrays (Map
 * subcolumns on modern, Nested columns on legacy), so the portable query forms in docs/analytics.md run on both.
 */
import { IDENTIFIER_PATTERN } from './config.ts';

export type Layout = 'legacy' | 'modern';
export type TableName = 'messages' | 'twin_changes' | 'device_events';
export const TABLE_NAMES: readonly TableName[] = ['messages', 'twin_changes', 'device_events'];

type ColumnKind = 'string' | 'category' | 'nullableString' | 'time' | 'uint32' | 'uint64' | 'properties';

export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
}

export interface TableSpec {
  readonly name: TableName;
  /** The DateTime / DateTime64 column; partitions by month and leads the sort key after device_id. */
  readonly timeColumn: string;
  readonly columns: readonly ColumnSpec[];
}

const col = (name: string, kind: ColumnKind): ColumnSpec => ({ name, kind });

/** Identity and dedupe key columns every table starts with. */
const key = [col('device_id', 'string'), col('module_id', 'string')];
/** Where the row came from, and when the connector sent its INSERT (epoch ms: 18.16 has no DateTime64). */
const origin = [
  col('route', 'category'), col('endpoint', 'category'),
  col('source_topic', 'category'), col('source_partition', 'uint32'), col('source_offset', 'uint64'),
  col('inserted_at', 'uint64'),
];

export const TABLES: Readonly<Record<TableName, TableSpec>> = {
  messages: {
    name: 'messages',
    timeColumn: 'enqueued_time',
    columns: [
      ...key, col('message_id', 'string'), col('dedupe_id', 'string'),
      col('enqueued_time', 'time'), col('enqueued_epoch_ms', 'uint64'),
      col('correlation_id', 'string'), col('content_type', 'category'), col('content_encoding', 'category'),
      col('system_properties', 'properties'), col('app_properties', 'properties'), col('enrichments', 'properties'),
      col('body_text', 'nullableString'), col('body_hex', 'string'), col('body_size', 'uint32'),
      col('ingest_node', 'category'), col('protocol', 'category'),
      ...origin,
    ],
  },
  twin_changes: {
    name: 'twin_changes',
    timeColumn: 'event_time',
    columns: [
      ...key, col('dedupe_id', 'string'), col('event_time', 'time'), col('event_epoch_ms', 'uint64'),
      col('op_type', 'category'), col('version', 'uint64'),
      col('tags_patch', 'nullableString'), col('desired_patch', 'nullableString'), col('reported_patch', 'nullableString'),
      col('body_text', 'string'), col('system_properties', 'properties'), col('app_properties', 'properties'),
      ...origin,
    ],
  },
  device_events: {
    name: 'device_events',
    timeColumn: 'event_time',
    columns: [
      ...key, col('dedupe_id', 'string'), col('event_time', 'time'), col('event_epoch_ms', 'uint64'),
      col('event_source', 'category'), col('op_type', 'category'),
      col('status', 'category'), col('connection_id', 'string'), col('reason', 'category'),
      col('ingest_node', 'category'), col('protocol', 'category'),
      col('body_text', 'string'), col('system_properties', 'properties'), col('app_properties', 'properties'),
      ...origin,
    ],
  },
};

const identifier = new RegExp(IDENTIFIER_PATTERN);

/** Backquoted identifier; anything but letters, digits and underscores is refused rather than escaped. */
export function quoteIdentifier(name: string): string {
  if (!identifier.test(name)) throw new RangeError(`"${name}" is not a valid ClickHouse identifier (letters, digits, underscores)`);
  return `\`${name}\``;
}

export function qualifiedTable(database: string, table: TableName): string {
  return `${quoteIdentifier(database)}.${quoteIdentifier(table)}`;
}

function columnType(kind: ColumnKind, layout: Layout): string {
  const modern = layout === 'modern';
  switch (kind) {
    case 'string': return 'String';
    case 'category': return modern ? 'LowCardinality(String)' : 'String';
    case 'nullableString': return 'Nullable(String)';
    case 'time': return modern ? "DateTime64(3, 'UTC')" : "DateTime('UTC')";
    case 'uint32': return 'UInt32';
    case 'uint64': return 'UInt64';
    case 'properties': return modern ? 'Map(String, String)' : 'Nested(keys String, values String)';
  }
}

/**
 * ReplacingMergeTree keyed by (device_id, time, module_id, dedupe_id): a redelivered record has the same device,
 * time and dedupe id, so background merges (and `FINAL`) collapse copies that slipped past the pre-insert check.
 * Monthly partitions, because 18.16 has no TTL and operators drop old months with `ALTER TABLE … DROP PARTITION`.
 */
export function createTableSql(database: string, table: TableName, layout: Layout): string {
  const spec = TABLES[table];
  const columns = spec.columns.map((c) => `  ${quoteIdentifier(c.name)} ${columnType(c.kind, layout)}`);
  const time = quoteIdentifier(spec.timeColumn);
  return [
    `CREATE TABLE IF NOT EXISTS ${qualifiedTable(database, table)} (`,
    columns.join(',\n'),
    ') ENGINE = ReplacingMergeTree()',
    `PARTITION BY toYYYYMM(${time})`,
    `ORDER BY (\`device_id\`, ${time}, \`module_id\`, \`dedupe_id\`)`,
  ].join('\n');
}

export function createDatabaseSql(database: string): string {
  return `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)}`;
}

/** Column names as the insert names them: Nested properties are two array columns, `<name>.keys` and `<name>.values`. */
export function insertColumns(table: TableName, layout: Layout): string[] {
  return TABLES[table].columns.flatMap((c) =>
    c.kind === 'properties' && layout === 'legacy' ? [`${c.name}.keys`, `${c.name}.values`] : [c.name]);
}

/** The layout an existing table was created with, from its columns' types (system.columns), or why it is unusable. */
export function detectLayout(table: TableName, columns: ReadonlyMap<string, string>): { layout: Layout } | { problem: string } {
  const timeType = columns.get(TABLES[table].timeColumn);
  if (timeType === undefined) return { problem: `has no ${TABLES[table].timeColumn} column` };
  const layout: Layout = timeType.startsWith('DateTime64') ? 'modern' : 'legacy';
  const missing = insertColumns(table, layout).filter((name) => !columns.has(name));
  if (missing.length > 0) return { problem: `lacks column(s) ${missing.join(', ')} of the ${layout} layout` };
  return { layout };
}

/** `auto` picks modern types from ClickHouse 22.1 on, where DateTime64, LowCardinality and Map are all generally available. */
export function layoutForVersion(version: string): Layout {
  const [major = 0] = version.split('.').map((part) => Number.parseInt(part, 10));
  return Number.isFinite(major) && major >= 22 ? 'modern' : 'legacy';
}
