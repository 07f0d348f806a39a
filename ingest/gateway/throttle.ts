/**
 * IoT Hub-style throttles (iothub-wire.md §7.2): token buckets that first *shape* traffic over the limit — the caller
 * waits until its token is due — and only reject (ThrottlingException, 429001) once the wait would be longer than the
 * shaping window. A bucket may go into debt up to `rate × window`, which is exactly the queue IoT Hub's traffic
 * shaping keeps; taking a token returns how long the caller must wait before acting on it.
 */

export interface BucketSpec {
  /** Tokens added per second; 0 or Infinity disables the bucket. */
  ratePerSecond: number;
  /** Tokens available at once when the bucket is full (the burst). Default: one second's worth, at least 1. */
  burst?: number;
}

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly burst: number;

  constructor(private readonly rate: number, burst: number | undefined, now: number) {
    this.burst = Math.max(1, burst ?? rate);
    this.tokens = this.burst;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.rate);
      this.updatedAt = now;
    }
  }

  /**
   * Takes one token. Returns the milliseconds to wait before using it (0 = now), or undefined — and takes nothing —
   * when that wait would exceed `maxWaitMs`.
   */
  take(now: number, maxWaitMs: number): number | undefined {
    this.refill(now);
    const after = this.tokens - 1;
    const waitMs = after >= 0 ? 0 : (-after / this.rate) * 1000;
    if (waitMs > maxWaitMs) return undefined;
    this.tokens = after;
    return waitMs;
  }

  /** Gives a token back (when a second bucket refused the same operation). */
  refund(): void {
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }

  /** Whether the bucket is full again, i.e. forgetting it changes nothing. */
  idle(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }
}

const enabled = (spec: BucketSpec | undefined): spec is BucketSpec =>
  spec !== undefined && spec.ratePerSecond > 0 && Number.isFinite(spec.ratePerSecond);

/**
 * One bucket per key (device id) plus one shared bucket (the hub as seen by this node). Idle per-key buckets are
 * swept so memory follows the number of busy devices, not of devices ever seen.
 */
export class KeyedThrottle {
  private readonly perKey = new Map<string, TokenBucket>();
  private readonly shared: TokenBucket | undefined;
  private lastSweep: number;

  constructor(
    private readonly perKeySpec: BucketSpec | undefined,
    sharedSpec: BucketSpec | undefined,
    private readonly maxWaitMs: number,
    private readonly clock: () => number = Date.now,
  ) {
    const now = clock();
    this.shared = enabled(sharedSpec) ? new TokenBucket(sharedSpec.ratePerSecond, sharedSpec.burst, now) : undefined;
    this.lastSweep = now;
  }

  /** Milliseconds to wait before proceeding (0 = now), or undefined when the operation must be refused. */
  admit(key: string): number | undefined {
    const now = this.clock();
    let own: TokenBucket | undefined;
    if (enabled(this.perKeySpec)) {
      own = this.perKey.get(key);
      if (own === undefined) {
        own = new TokenBucket(this.perKeySpec.ratePerSecond, this.perKeySpec.burst, now);
        this.perKey.set(key, own);
      }
    }
    const ownWait = own === undefined ? 0 : own.take(now, this.maxWaitMs);
    if (ownWait === undefined) return undefined;
    const sharedWait = this.shared === undefined ? 0 : this.shared.take(now, this.maxWaitMs);
    if (sharedWait === undefined) {
      own?.refund();
      return undefined;
    }
    if (now - this.lastSweep > 10_000) this.sweep(now);
    return Math.max(ownWait, sharedWait);
  }

  /** Number of per-key buckets held (tests, metrics). */
  get trackedKeys(): number {
    return this.perKey.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, bucket] of this.perKey) if (bucket.idle(now)) this.perKey.delete(key);
  }
}
