/**
 * Group commit for one partition: produce calls that arrive while a write + fsync is in flight wait and go out
 * together in the next one, so throughput grows with concurrency instead of paying one fsync per record or per call.
 * The first flush starts on the next turn of the event loop (setImmediate), so calls issued in the same turn — a
 * burst of `produce()` calls nobody awaited one by one — already share a write.
 */

interface PendingCall<T> {
  readonly items: T[];
  readonly bytes: number;
  resolve(firstOffset: number): void;
  reject(error: unknown): void;
}

export interface BatchingAppenderOptions<T> {
  /** Writes items durably and contiguously; resolves with the offset given to the first one. */
  write(items: T[]): Promise<number>;
  sizeOf(item: T): number;
  /** Upper bound on one write's bytes (a single oversized call still goes out alone). */
  maxFlushBytes: number;
}

export class BatchingAppender<T> {
  readonly #options: BatchingAppenderOptions<T>;
  #queue: PendingCall<T>[] = [];
  #draining: Promise<void> | undefined;
  /** Number of writes performed, for tests and metrics (how well calls are being coalesced). */
  flushCount = 0;

  constructor(options: BatchingAppenderOptions<T>) {
    this.#options = options;
  }

  /** Queues items to be written contiguously and in order; resolves with the offset of the first item. */
  append(items: T[]): Promise<number> {
    let bytes = 0;
    for (const item of items) bytes += this.#options.sizeOf(item);
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ items, bytes, resolve, reject });
      this.#draining ??= new Promise<void>((started) => setImmediate(started)).then(() => this.#drain());
    });
  }

  /** Resolves once everything queued so far has been written (or has failed). */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        let taken = 0;
        let bytes = 0;
        while (taken < this.#queue.length && (taken === 0 || bytes + this.#queue[taken]!.bytes <= this.#options.maxFlushBytes)) {
          bytes += this.#queue[taken]!.bytes;
          taken++;
        }
        const calls = this.#queue.splice(0, taken);
        try {
          let offset = await this.#options.write(calls.flatMap((call) => call.items));
          this.flushCount++;
          for (const call of calls) {
            call.resolve(offset);
            offset += call.items.length;
          }
        } catch (err) {
          for (const call of calls) call.reject(err);
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }
}
