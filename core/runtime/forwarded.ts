import type { LogRecord } from '../log/types.ts';
import type { ForwardedRecord } from '../serde/index.ts';

/**
 * Wraps a record for a route or the dead-letter topic (schemas/iot.deadletter-value): the original key, value bytes
 * (still in their own Confluent wire format) and headers, where they came from, and when they were forwarded.
 * `details` says why: the route and endpoint, or the error.
 */
export function forwardedRecord(record: LogRecord, details: Partial<Omit<ForwardedRecord, 'forwardedTime'>>): ForwardedRecord {
  return {
    sourceTopic: record.topic,
    sourcePartition: record.partition,
    sourceOffset: record.offset,
    sourceTimestamp: record.timestamp,
    key: record.key,
    value: record.value,
    headers: record.headers,
    ...details,
    forwardedTime: Date.now(),
  };
}
