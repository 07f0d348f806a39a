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
  private burst: number;

  constructor(private rate: number, burst: number | undefined, now: number) {
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

  /**
   * Changes the rate (and burst) from now on: what accrued so far is kept at the old rate, and a debt is kept too, so
   * a shrinking share delays the next operations instead of forgiving what was already taken.
   */
  reconfigure(rate: number, burst: number | undefined, now: number): void {
    this.refill(now);
    this.rate = rate;
    this.burst = Math.max(1, burst ?? rate);
    this.tokens = Math.min(this.tokens, this.burst);
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
  /** Operations that asked the shared bucket since the last `takeSharedDemand` (admitted or not): the node's demand. */
  private sharedAsks = 0;

  constructor(
    private readonly perKeySpec: BucketSpec | undefined,
    private readonly sharedSpec: BucketSpec | undefined,
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
    if (this.shared !== undefined) this.sharedAsks++;
    const sharedWait = this.shared === undefined ? 0 : this.shared.take(now, this.maxWaitMs);
    if (sharedWait === undefined) {
      own?.refund();
      return undefined;
    }
    if (now - this.lastSweep > 10_000) this.sweep(now);
    return Math.max(ownWait, sharedWait);
  }

  /** Whether any bucket is configured; without one `admit` always answers 0 (callers skip it and the key's cost). */
  get limited(): boolean {
    return this.shared !== undefined || enabled(this.perKeySpec);
  }

  /** Whether there is a shared (hub-wide) bucket to coordinate with other nodes. */
  get hasShared(): boolean {
    return this.shared !== undefined;
  }

  /** The shared bucket's configured rate: the hub-wide limit before it is split among nodes. */
  get sharedLimit(): number {
    return this.sharedSpec?.ratePerSecond ?? 0;
  }

  /** Operations that asked the shared bucket since the previous call, and resets the count. */
  takeSharedDemand(): number {
    const asks = this.sharedAsks;
    this.sharedAsks = 0;
    return asks;
  }

  /** This node's share of the hub-wide rate (hub-share.ts); the burst scales with it. */
  setSharedRate(ratePerSecond: number): void {
    const spec = this.sharedSpec;
    if (this.shared === undefined || spec === undefined) return;
    const burst = spec.burst === undefined ? undefined : (spec.burst * ratePerSecond) / spec.ratePerSecond;
    this.shared.reconfigure(ratePerSecond, burst, this.clock());
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
