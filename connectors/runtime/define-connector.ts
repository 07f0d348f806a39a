import type { Static, TSchema } from '@sinclair/typebox';
import type { Logger } from '../../core/logging/logger.ts';
import type { AvroSerde } from '../../core/serde/index.ts';
import type { Log, LogRecord } from '../../core/log/types.ts';
import { TributaryError, type ErrorCode } from '../../core/errors/index.ts';

/** One partition's records, in offset order, handed to a sink in one call. */
export interface SinkBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly LogRecord[];
}

/**
 * A sink connector (DESIGN.md §4): `connect`, `writeBatch`, `close`. The runtime commits the batch's offsets only
 * after `writeBatch` resolves, so a sink must make the batch durable before resolving and must tolerate seeing a batch
 * again after a crash (write idempotently, e.g. by message id).
 */
export interface SinkConnector {
  connect(): Promise<void>;
  /** Resolves when every record is durably written; rejects with a SinkError to say what failed and whether to retry. */
  writeBatch(batch: SinkBatch): Promise<void>;
  close(): Promise<void>;
}

export interface ConnectorDefinition<S extends TSchema = TSchema> {
  /** kebab-case; names the consumer group (`tributary-connector-<name>`), metrics labels and the docs page. */
  name: string;
  description: string;
  configSchema: S;
  /** `deps.log` is the hub's Log (for sinks that write back to it, e.g. the kafka connector on the same cluster). */
  create(config: Static<S>, deps: { logger: Logger; serde: AvroSerde; log: Log }): SinkConnector | Promise<SinkConnector>;
  /**
   * Optional batch limits this sink wants by default (ClickHouse: large and slow; webhook: small and quick). The
   * runtime's options override them; see BatchLimits in run-connector.ts for the defaults.
   */
  batching?: Partial<BatchLimits> | ((config: Static<S>) => Partial<BatchLimits>);
}

/** How the runtime accumulates records of one partition before one writeBatch call (whichever limit is hit first). */
export interface BatchLimits {
  /** Records per writeBatch at most. */
  maxBatchRecords: number;
  /** Bytes (keys + values) per writeBatch at most; a single larger record still goes alone. */
  maxBatchBytes: number;
  /** How long the first buffered record may wait for more before the batch is written anyway (0: write what came). */
  maxBatchWaitMs: number;
}

export function defineConnector<S extends TSchema>(definition: ConnectorDefinition<S>): ConnectorDefinition<S> {
  return definition;
}

/**
 * How a sink reports a failed batch. `retriable: true` (the system is down, throttled): the runtime retries the whole
 * batch with backoff, forever, without committing. `retriable: false` (the records themselves are bad): the records at
 * `failed` (indexes into `batch.records`; all of them when omitted) go to the dead-letter topic, the rest count as
 * written, and the partition goes on.
 */
export class SinkError extends TributaryError {
  readonly failed: readonly number[] | undefined;

  constructor(message: string, options: { retriable: boolean; failed?: number[]; cause?: unknown; code?: ErrorCode }) {
    super(options.code ?? 'SinkWriteFailed', message, { retriable: options.retriable, cause: options.cause });
    this.failed = options.failed;
  }
}
