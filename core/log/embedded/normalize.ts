/** Turns ProduceRecords into framed-ready records, validating what Kafka's producer or broker would reject. */
import { TributaryError } from '../../errors/index.ts';
import { frameSize, type EncodableRecord } from './framing.ts';
import type { Headers, ProduceRecord } from '../types.ts';

/** Timestamps are stored as signed 48-bit milliseconds (framing.ts): ±4,400 years around 1970. */
const MAX_TIMESTAMP = 2 ** 47 - 1;

export function toBytes(value: Buffer | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

export function normalizeHeaders(headers: Record<string, Buffer | string> | undefined): Headers {
  const out: Headers = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (Buffer.byteLength(name, 'utf8') > 0xffff) throw new TributaryError('ArgumentInvalid', `Header name ${name.slice(0, 40)}… is longer than 65535 bytes.`);
    out[name] = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  }
  return out;
}

export interface NormalizedRecord extends EncodableRecord {
  /** The explicit partition, if the producer chose one (otherwise the key decides). */
  readonly partition: number | undefined;
}

/** Normalises and validates one record for `topic` (with `partitions` partitions, limit `maxRecordBytes`). */
export function normalizeRecord(topic: string, record: ProduceRecord, partitions: number, maxRecordBytes: number, now: number): NormalizedRecord {
  if (record.partition !== undefined && (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= partitions)) {
    throw new TributaryError('ArgumentInvalid', `Partition ${record.partition} does not exist in topic ${topic} (it has ${partitions}); omit it to partition by key.`);
  }
  const timestamp = record.timestamp ?? now;
  if (!Number.isInteger(timestamp) || Math.abs(timestamp) > MAX_TIMESTAMP) {
    throw new TributaryError('ArgumentInvalid', `Record timestamp ${timestamp} for ${topic} must be integer milliseconds since the epoch.`);
  }
  const normalized: NormalizedRecord = {
    key: toBytes(record.key),
    value: toBytes(record.value),
    headers: normalizeHeaders(record.headers),
    timestamp,
    partition: record.partition,
  };
  const size = frameSize(normalized);
  if (size > maxRecordBytes) {
    throw new TributaryError('RecordTooLarge', `A record of ${size} bytes exceeds the ${maxRecordBytes}-byte limit of topic ${topic} (max.message.bytes); split it or raise the limit.`, { details: { topic, size, maxRecordBytes } });
  }
  return normalized;
}
