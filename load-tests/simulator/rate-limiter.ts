/**
 * Token bucket bounding the connect rate: a connection storm is a test of its own, and an unbounded one would make
 * the throughput figure measure TLS handshakes. The clock is injected so the arithmetic is tested without timers.
 */
import { sleep } from '../../core/runtime/backoff.ts';

export type Clock = () => number;

export class TokenBucket {
  #tokens: number;
  #last: number;

  /**
   * @param ratePerSecond tokens added per second
   * @param burst bucket capacity (tokens available at once); starts full
   */
  constructor(
    readonly ratePerSecond: number,
    readonly burst: number = Math.max(1, Math.ceil(ratePerSecond / 20)),
    private readonly now: Clock = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
    if (!(burst >= 1)) throw new RangeError(`burst must be at least 1, got ${burst}`);
    this.#tokens = burst;
    this.#last = now();
  }

  #refill(): void {
    const t = this.now();
    const elapsed = Math.max(0, t - this.#last);
    this.#last = t;
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.ratePerSecond) / 1000);
  }

  /** Takes a token and returns 0, or takes nothing and returns the milliseconds until one will be there. */
  tryTake(): number {
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return ((1 - this.#tokens) * 1000) / this.ratePerSecond;
  }

  /** Waits for a token; resolves false if the signal aborts first. */
  async take(signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal?.aborted) return false;
      const wait = this.tryTake();
      if (wait === 0) return true;
      await sleep(Math.max(1, Math.ceil(wait)), signal);
    }
  }
}

/** Re-exported for the workers: one sleep for the whole code base. */
export { sleep };
