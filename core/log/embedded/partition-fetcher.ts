/**
 * The fetch loop of one assigned partition: read at most maxBatchRecords from the position, hand them to the
 * handler, wait for it, advance; sleep on the partition's append signal when caught up (no polling interval, so
 * latency is one wake-up). Nothing is read ahead, so memory per partition is bounded by one batch.
 *
 * A handler failure is retried after an exponential backoff from the same position, without committing (Log
 * contract: "a rejected promise stops nothing"). Offsets are committed by the caller, never here.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../logging/logger.ts';
import type { PartitionLog } from './partition-log.ts';
import type { BatchHandler, RecordBatch } from '../types.ts';

/** Which fetcher's handler the current async context runs in (lets stop() called from a handler avoid waiting on itself). */
export const handlerScope = new AsyncLocalStorage<object>();

export interface FetcherOptions {
  partitionLog: PartitionLog;
  handler: BatchHandler;
  /** Identifies the consumer in handlerScope. */
  owner: object;
  /** Where to start: the committed offset, or the reset position when the group has none. */
  startPosition: number | undefined;
  fromBeginning: boolean;
  maxBatchRecords: number;
  maxBatchBytes: number;
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
  onError(error: Error): void;
  logger: Logger;
}

export class PartitionFetcher {
  readonly #o: FetcherOptions;
  readonly #abort = new AbortController();
  #paused = false;
  #unpause: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: FetcherOptions) {
    this.#o = options;
  }

  start(): void {
    this.#loop = this.#run();
  }

  setPaused(paused: boolean): void {
    this.#paused = paused;
    if (!paused) this.#unpause?.();
  }

  /** Stops fetching; with `wait`, resolves once the batch in flight (if any) has been handled. */
  async stop(wait = true): Promise<void> {
    this.#abort.abort();
    this.#unpause?.();
    if (wait) await this.#loop;
  }

  async #run(): Promise<void> {
    const { partitionLog: log, logger } = this.#o;
    const signal = this.#abort.signal;
    let position = this.#o.startPosition ?? this.#resetPosition();
    let failures = 0;
    while (!signal.aborted) {
      if (this.#paused) {
        await new Promise<void>((resolve) => (this.#unpause = resolve));
        this.#unpause = undefined;
        continue;
      }
      let batch: RecordBatch;
      try {
        const result = await log.read(position, this.#o.maxBatchRecords, this.#o.maxBatchBytes);
        if (result.kind === 'out-of-range') {
          // Kafka's auto.offset.reset: the records are gone (retention) or the position is past the end.
          const reset = this.#resetPosition();
          logger.warn({ topic: log.topic, partition: log.partition, position, reset, ...result }, 'offset out of range; resetting');
          position = reset;
          continue;
        }
        if (result.records.length === 0) {
          await log.waitForData(position, signal);
          continue;
        }
        batch = { topic: log.topic, partition: log.partition, records: result.records, nextOffset: result.records.at(-1)!.offset + 1 };
      } catch (err) {
        // The partition was closed under us: the log is closing or the topic was deleted; a rebalance follows.
        if ((err as { code?: unknown }).code === 'LogClosed') return;
        failures++;
        await this.#backoff(failures, position, err, 'read failed');
        continue;
      }
      // Paused or revoked while reading: drop what was read, as a Kafka consumer drops fetched data then.
      if (this.#paused || signal.aborted) continue;
      try {
        await handlerScope.run(this.#o.owner, () => this.#o.handler(batch));
        position = batch.nextOffset;
        failures = 0;
      } catch (err) {
        failures++;
        await this.#backoff(failures, position, err, 'batch handler failed; retrying after backoff without committing');
      }
    }
  }

  async #backoff(failures: number, position: number, err: unknown, message: string): Promise<void> {
    const { partitionLog: log, logger } = this.#o;
    const error = err instanceof Error ? err : new Error(String(err));
    const delay = Math.min(this.#o.maxRetryBackoffMs, this.#o.retryBackoffMs * 2 ** Math.min(failures - 1, 20));
    logger.warn({ topic: log.topic, partition: log.partition, position, failures, delay, err: error }, message);
    this.#o.onError(error);
    await sleep(delay, undefined, { signal: this.#abort.signal }).catch(() => undefined);
  }

  #resetPosition(): number {
    return this.#o.fromBeginning ? this.#o.partitionLog.startOffset : this.#o.partitionLog.endOffset;
  }
}
