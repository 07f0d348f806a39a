/**
 * A bounded LRU cache with a TTL for device lookups. Registry events invalidate entries (a disabled device must stop
 * being enriched as soon as the change is announced); the TTL bounds staleness for changes nobody announced to this
 * process (a lost lifecycle event, a twin written while the listener was down).
 *
 * Invalidation races a lookup in flight: a result read before an invalidation must not be stored after it, or the
 * stale value would live a whole TTL. Every invalidation bumps an epoch; `getOrLoad` stores its result only when no
 * invalidation of that device happened while it was loading.
 */

export interface DeviceCacheOptions {
  maxEntries: number;
  ttlMs: number;
  /** Milliseconds clock; injectable for tests. */
  now?: () => number;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
}

export class DeviceCache<V> {
  /** Map iteration order is insertion order: re-inserting on a hit makes the first key the least recently used. */
  private readonly entries = new Map<string, Entry<V>>();
  /** deviceId → cache keys of that device (its own and its modules'), so one event drops them all. */
  private readonly keysOfDevice = new Map<string, Set<string>>();
  /** deviceId → invalidation count; absent means 0. Kept only while a load for the device is in flight. */
  private readonly epochs = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<V>>();
  private readonly now: () => number;

  constructor(private readonly options: DeviceCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  static key(deviceId: string, moduleId?: string | null): string {
    return moduleId ? `${deviceId}\u0000${moduleId}` : deviceId;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached value, or `load()`'s result (one load per key at a time; concurrent callers share it). */
  async getOrLoad(deviceId: string, moduleId: string | null | undefined, load: () => Promise<V>): Promise<{ value: V; hit: boolean }> {
    const key = DeviceCache.key(deviceId, moduleId);
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > this.now()) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      return { value: entry.value, hit: true };
    }
    if (entry) this.remove(deviceId, key);

    const shared = this.inFlight.get(key);
    if (shared) return { value: await shared, hit: false };

    const epoch = this.epochs.get(deviceId) ?? 0;
    const promise = load();
    this.inFlight.set(key, promise);
    try {
      const value = await promise;
      if ((this.epochs.get(deviceId) ?? 0) === epoch) this.set(deviceId, key, value);
      return { value, hit: false };
    } finally {
      this.inFlight.delete(key);
      if (!this.hasLoadInFlight(deviceId)) this.epochs.delete(deviceId);
    }
  }

  /** Drops the device's entry and those of its modules. */
  invalidateDevice(deviceId: string): void {
    if (this.hasLoadInFlight(deviceId)) this.epochs.set(deviceId, (this.epochs.get(deviceId) ?? 0) + 1);
    const keys = this.keysOfDevice.get(deviceId);
    if (!keys) return;
    for (const key of keys) this.entries.delete(key);
    this.keysOfDevice.delete(deviceId);
  }

  clear(): void {
    for (const deviceId of this.keysOfDevice.keys()) this.invalidateDevice(deviceId);
    for (const key of this.inFlight.keys()) {
      const deviceId = key.split('\u0000')[0]!;
      this.epochs.set(deviceId, (this.epochs.get(deviceId) ?? 0) + 1);
    }
  }

  private hasLoadInFlight(deviceId: string): boolean {
    for (const key of this.inFlight.keys()) if (key === deviceId || key.startsWith(`${deviceId}\u0000`)) return true;
    return false;
  }

  private set(deviceId: string, key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.options.ttlMs });
    let keys = this.keysOfDevice.get(deviceId);
    if (!keys) this.keysOfDevice.set(deviceId, (keys = new Set()));
    keys.add(key);
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.remove(oldest.split('\u0000')[0]!, oldest);
    }
  }

  private remove(deviceId: string, key: string): void {
    this.entries.delete(key);
    const keys = this.keysOfDevice.get(deviceId);
    keys?.delete(key);
    if (keys?.size === 0) this.keysOfDevice.delete(deviceId);
  }
}
