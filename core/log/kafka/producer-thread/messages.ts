/** What KafkaLog's thread and its producer thread say to each other (thread-producer.ts ↔ worker.ts). */
import { TributaryError, isErrorCode } from '../../../errors/index.ts';
import type { KafkaClientOptions } from '../client.ts';
import type { LogProducerSettings } from '../log-producer.ts';

export interface ProducerThreadInput {
  client: KafkaClientOptions;
  settings: LogProducerSettings;
  /** The pino level of the parent's Kafka logger. */
  logLevel: string;
}

export type ToProducerThread =
  | { op: 'produce'; id: number; topic: string; records: ArrayBuffer }
  | { op: 'forget'; topics: string[] }
  | { op: 'close'; timeoutMs: number };

export interface SerializedError {
  code: string;
  message: string;
  retriable: boolean;
}

export type FromProducerThread =
  | { op: 'ready' }
  | { op: 'startFailed'; error: SerializedError }
  /** `placement`: partition and offset of each record, in order, as pairs. */
  | { op: 'produced'; id: number; placement: Float64Array; requests: number }
  | { op: 'failed'; id: number; error: SerializedError; requests: number }
  | { op: 'closed' };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof TributaryError) return { code: err.code, message: err.message, retriable: err.retriable };
  return { code: 'LogUnavailable', message: err instanceof Error ? err.message : String(err), retriable: true };
}

export function deserializeError(e: SerializedError): TributaryError {
  return new TributaryError(isErrorCode(e.code) ? e.code : 'LogUnavailable', e.message, { retriable: e.retriable });
}
