import type { LogRecord, ProduceRecord } from '../log/types.ts';
import { TOPICS } from '../log/topics.ts';
import type { TributaryError } from '../errors/index.ts';
import type { AvroSerde } from '../serde/index.ts';
import { forwardedRecord } from './forwarded.ts';

/** The topic every failed record ends up in (DESIGN.md §5). */
export const DEAD_LETTER_TOPIC = TOPICS.deadLetter;

/**
 * Headers on dead-lettered records, so operators can filter by code or stage without decoding the value. The value
 * is a `ForwardedRecord` (schemas/iot.deadletter-value) that wraps the original key, value bytes (still in their own
 * Confluent wire format) and headers with where it came from and why it failed, so a fixed record can be replayed.
 */
export const DLQ_HEADERS = {
  code: 'x-tributary-dlq-error-code',
  stage: 'x-tributary-dlq-stage',
} as const;

/** Builds the dead-letter record for `record`, which failed in `stage` (e.g. `processor:enrich`). */
export async function deadLetterRecord(serde: AvroSerde, record: LogRecord, error: TributaryError, stage: string, attempts = 1): Promise<ProduceRecord> {
  const forwarded = forwardedRecord(record, {
    errorCode: error.code,
    // Bounded: a stack-sized message must not make the dead-letter record itself too large.
    errorMessage: error.message.slice(0, 4096),
    failedBy: stage,
    attempts,
  });
  return {
    key: record.key,
    value: await serde.encode(DEAD_LETTER_TOPIC, forwarded),
    timestamp: record.timestamp,
    headers: { [DLQ_HEADERS.code]: error.code, [DLQ_HEADERS.stage]: stage },
  };
}
