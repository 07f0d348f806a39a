import { TributaryError, type ErrorCode } from '../../errors/index.ts';

/** Kafka protocol error types (kafkajs `error.type`) that mean "this record can never be written as it is". */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);
const NOT_FOUND = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID']);

interface KafkaJsLikeError {
  name?: unknown;
  type?: unknown;
  message?: unknown;
  cause?: unknown;
  originalError?: unknown;
}

/** kafkajs wraps the broker's answer in retry errors (KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError). */
function causeChain(err: unknown): KafkaJsLikeError[] {
  const chain: KafkaJsLikeError[] = [];
  let current: unknown = err;
  while (typeof current === 'object' && current !== null && chain.length < 8) {
    const e = current as KafkaJsLikeError;
    chain.push(e);
    current = e.cause ?? e.originalError;
  }
  return chain;
}

/** Picks the TributaryError code for a kafkajs error; anything unrecognised is LogUnavailable (retriable). */
export function kafkaErrorCode(err: unknown): ErrorCode {
  const chain = causeChain(err);
  for (const e of chain) {
    if (typeof e.type === 'string') {
      if (TOO_LARGE.has(e.type)) return 'RecordTooLarge';
      if (NOT_FOUND.has(e.type)) return 'TopicNotFound';
    }
  }
  return 'LogUnavailable';
}

/**
 * Maps anything kafkajs throws to a TributaryError with a message that says what to do next. `context` names the
 * operation ("produce to iot.device.messages") so the log line is useful on its own.
 */
export function toLogError(err: unknown, context: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const code = kafkaErrorCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  const advice: Record<string, string> = {
    RecordTooLarge: 'the record exceeds the broker\'s message.max.bytes (or the topic\'s max.message.bytes); send smaller records or raise the limit',
    TopicNotFound: 'create the topic first (topics are created at start-up; auto-creation is off)',
    LogUnavailable: 'check that the Kafka brokers are reachable; the operation can be retried',
  };
  return new TributaryError(code, `Kafka ${context} failed: ${detail}; ${advice[code] ?? 'see the cause'}`, {
    cause: err,
  });
}

export function logClosedError(operation: string): TributaryError {
  return new TributaryError('LogClosed', `KafkaLog.${operation} was called after close(); open a new KafkaLog with KafkaLog.connect().`);
}
