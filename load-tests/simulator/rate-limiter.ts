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

/**
 * Paces messages at a target rate that may ramp up linearly from zero: the allowance after t seconds is the integral
 * of the rate, r·t²/(2·ramp) during the ramp and r·(t − ramp/2) after it. A generator that falls behind (the server
 * pushing back through the in-flight windows) may catch up by at most `burstSeconds` worth of messages, so a stall
 * is not followed by an unbounded flood that would measure the generator instead of the server.
 */
export class RampPacer {
  #taken = 0;
  readonly #start: number;

  constructor(
    readonly ratePerSecond: number,
    readonly rampSeconds = 0,
    readonly burstSeconds = 0.1,
    private readonly now: Clock = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
    this.#start = now();
  }

  /** Messages allowed from the start until `seconds` later. */
  allowance(seconds: number): number {
    const t = Math.max(0, seconds);
    const r = this.ratePerSecond;
    const ramp = this.rampSeconds;
    if (ramp <= 0) return r * t;
    return t < ramp ? (r * t * t) / (2 * ramp) : r * (t - ramp / 2);
  }

  /** The rate the pacer aims at now (for progress lines). */
  currentRate(): number {
    const t = (this.now() - this.#start) / 1000;
    return this.rampSeconds <= 0 ? this.ratePerSecond : this.ratePerSecond * Math.min(1, t / this.rampSeconds);
  }

  /** Whole messages the allowance has room for now. */
  available(): number {
    const allowed = this.allowance((this.now() - this.#start) / 1000);
    const cap = Math.max(1, this.ratePerSecond * this.burstSeconds);
    // Forfeit what could not be sent in time beyond the burst (see the class comment).
    if (allowed - this.#taken > cap) this.#taken = allowed - cap;
    return Math.floor(allowed - this.#taken);
  }

  take(n = 1): void {
    this.#taken += n;
  }
}
