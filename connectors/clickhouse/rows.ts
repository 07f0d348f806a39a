/**
 * RoutedMessage → one JSONEachRow object for its table. Rows are data sent through @clickhouse/client `insert()`,
 * never SQL text, so nothing a device sends is ever spliced into a statement.
 *
 * Bodies: `body_text` holds the body when IoT Hub would read it as JSON (application/json, UTF-8), and `body_hex` the
 * raw bytes as hex for every message. JSONEachRow cannot carry arbitrary bytes (ClickHouse reads `\u00XX` as a UTF-8
 * encoded code point, not a byte), and 18.16 has `unhex()` but no `base64Decode()`, so hex is the raw form both
 * versions can turn back into bytes.
 */
import { TributaryError } from '../../core/errors/index.ts';
import { isoTime, type RoutedMessage } from '../runtime/routed-message.ts';
import type { Layout, TableName } from './tables.ts';

export type Row = Record<string, unknown>;

export interface MappedRow {
  table: TableName;
  /** Identity of the row for deduplication: device id, module id ('' for none), dedupe id. */
  key: readonly [string, string, string];
  /** The row's time in epoch milliseconds (the sort key's time). */
  timeMs: number;
  row: Row;
}

/** DateTime (legacy) holds seconds in a UInt32, so times must fall in 1970-01-01 … 2106-02-07. */
const MAX_TIME_MS = 2 ** 32 * 1000 - 1;

export function tableOf(source: RoutedMessage['source']): TableName {
  switch (source) {
    case 'DeviceMessages': return 'messages';
    case 'TwinChangeEvents': return 'twin_changes';
    case 'DeviceLifecycleEvents':
    case 'DeviceConnectionStateEvents': return 'device_events';
  }
}

/** Modern: DateTime64(3) text in the column's time zone (UTC); legacy: DateTime as epoch seconds. */
function timeValue(ms: number, layout: Layout): string | number {
  if (layout === 'legacy') return Math.floor(ms / 1000);
  return isoTime(ms).replace('T', ' ').replace('Z', '');
}

/** Writes a properties column into `row`: a Map object (modern) or the two Nested arrays (legacy). */
function setProperties(row: Row, name: string, values: Record<string, string>, layout: Layout): void {
  if (layout === 'modern') {
    row[name] = values;
    return;
  }
  row[`${name}.keys`] = Object.keys(values);
  row[`${name}.values`] = Object.values(values);
}

const jsonText = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));

function parseBody(message: RoutedMessage): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(message.bodyText ?? message.body.toString('utf8'));
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new TributaryError('ArgumentInvalid', `${message.source} record ${where(message)} has a body that is not a JSON object; it is dead-lettered`);
}

const where = (m: RoutedMessage) => `${m.sourceTopic}/${m.sourcePartition}@${m.sourceOffset}`;
const str = (value: unknown): string => (typeof value === 'string' ? value : '');

function setOrigin(row: Row, m: RoutedMessage): Row {
  row.route = m.route ?? '';
  row.endpoint = m.endpoint ?? '';
  row.source_topic = m.sourceTopic;
  row.source_partition = m.sourcePartition;
  row.source_offset = m.sourceOffset;
  row.inserted_at = 0; // stamped by the sink right before the INSERT
  return row;
}

/** Maps one message to its table's row; throws a non-retriable ArgumentInvalid for a message no table can hold. */
export function toRow(message: RoutedMessage, layout: Layout): MappedRow {
  const t = message.enqueuedTime;
  if (!Number.isInteger(t) || t < 0 || t > MAX_TIME_MS) {
    throw new TributaryError('ArgumentInvalid', `record ${where(message)} has time ${t}, outside 1970–2106 that ClickHouse DateTime holds; it is dead-lettered`);
  }
  if (message.deviceId === '') throw new TributaryError('ArgumentNull', `record ${where(message)} has no device id; it is dead-lettered`);
  const table = tableOf(message.source);
  const moduleId = message.moduleId ?? '';
  const key = [message.deviceId, moduleId, message.dedupeId] as const;
  // Rows are built by assignment, not spreads: this runs for every message of every batch.
  const row: Row = { device_id: message.deviceId, module_id: moduleId };

  if (table === 'messages') {
    const s = message.systemProperties;
    row.message_id = message.messageId ?? '';
    row.dedupe_id = message.dedupeId;
    row.enqueued_time = timeValue(t, layout);
    row.enqueued_epoch_ms = t;
    row.correlation_id = s['correlation-id'] ?? '';
    row.content_type = s['content-type'] ?? '';
    row.content_encoding = s['content-encoding'] ?? '';
    setProperties(row, 'system_properties', s, layout);
    setProperties(row, 'app_properties', message.appProperties, layout);
    setProperties(row, 'enrichments', message.enrichments, layout);
    row.body_text = message.bodyText;
    row.body_hex = message.body.toString('hex');
    row.body_size = message.body.length;
    row.ingest_node = message.ingestNode ?? '';
    row.protocol = message.protocol ?? '';
    return { table, key, timeMs: t, row: setOrigin(row, message) };
  }

  const body = parseBody(message);
  row.dedupe_id = message.dedupeId;
  row.event_time = timeValue(t, layout);
  row.event_epoch_ms = t;
  row.op_type = message.appProperties.opType ?? '';
  if (table === 'twin_changes') {
    const props = (body.properties ?? {}) as Record<string, unknown>;
    row.version = typeof body.version === 'number' && Number.isSafeInteger(body.version) && body.version >= 0 ? body.version : 0;
    row.tags_patch = jsonText(body.tags);
    row.desired_patch = jsonText(props.desired);
    row.reported_patch = jsonText(props.reported);
  } else {
    row.event_source = message.source;
    row.status = str(body.status);
    row.connection_id = str(body.connectionId);
    row.reason = str(body.reason);
    row.ingest_node = message.ingestNode ?? '';
    row.protocol = message.protocol ?? '';
  }
  row.body_text = message.bodyText ?? JSON.stringify(body);
  setProperties(row, 'system_properties', message.systemProperties, layout);
  setProperties(row, 'app_properties', message.appProperties, layout);
  return { table, key, timeMs: t, row: setOrigin(row, message) };
}
