import type { LogRecord, ProduceRecord } from '../log/types.ts';
import type { TributaryError } from '../errors/index.ts';

/** The topic every failed record ends up in (DESIGN.md §5). */
export const DEAD_LETTER_TOPIC = 'iot.deadletter';

/**
 * Header names on dead-lettered records. The value stays the original bytes (still in the Confluent wire format of
 * its source topic), so replaying a fixed record is a plain re-produce to `x-tributary-dlq-source-topic`; the reason
 * travels in headers, as Kafka Connect's dead-letter queues do.
 */
export const DLQ_HEADERS = {
  code: 'x-tributary-dlq-error-code',
  message: 'x-tributary-dlq-error-message',
  stage: 'x-tributary-dlq-stage',
  sourceTopic: 'x-tributary-dlq-source-topic',
  sourcePartition: 'x-tributary-dlq-source-partition',
  sourceOffset: 'x-tributary-dlq-source-offset',
  failedAt: 'x-tributary-dlq-failed-at',
} as const;

/** Builds the dead-letter record for `record`, which failed in `stage` (a processor or connector name). */
export function deadLetterRecord(record: LogRecord, error: TributaryError, stage: string): ProduceRecord {
  return {
    key: record.key,
    value: record.value,
    timestamp: record.timestamp,
    headers: {
      ...record.headers,
      [DLQ_HEADERS.code]: error.code,
      // Header values are bounded: a stack-sized message must not make the dead-letter record itself too large.
      [DLQ_HEADERS.message]: error.message.slice(0, 2048),
      [DLQ_HEADERS.stage]: stage,
      [DLQ_HEADERS.sourceTopic]: record.topic,
      [DLQ_HEADERS.sourcePartition]: String(record.partition),
      [DLQ_HEADERS.sourceOffset]: String(record.offset),
      [DLQ_HEADERS.failedAt]: new Date().toISOString(),
    },
  };
}
