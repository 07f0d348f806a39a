/**
 * Identity credentials looked up once and kept until the registry says they changed (`onChange`: created, updated,
 * deleted, credentials changed, enabled, disabled). A TTL is the safety net for changes made by another process,
 * whose in-process events this node does not see (lifecycle events on the log can call `invalidate` too).
 * Unknown identities are cached as well (briefly), so a storm of connects from an unregistered id does not become a
 * storm of store reads. Size-bounded: the oldest entries go first. Misses of concurrent connects are looked up together
 * when the source can (getCredentialsMany).
 *
 * What the cache is for: connects that repeat within the TTL — refused ones (wrong key, unknown or disabled id, which
 * retry fast), concurrent connects of one id, which share a lookup, and adapters that authenticate every request
 * (HTTPS). When a connection of an identity becomes live the gateway `release`s its entry: the connection keeps its
 * DeviceIdentity, and its next connect (SAS renewal, hourly by default; a network blip) is one batched lookup. Kept, the entry (credentials, both keys, its promise, ~450 bytes) would sit on every idle connection
 * (issue 5: ≤ 20 KB per idle TLS connection); an idle fleet's memory should not depend on how recently it connected.
 * Expired entries are dropped as later lookups pass them, so the map holds about a TTL's worth of refused connects.
 */
import type { IdentityCredentials } from '../../core/registry/index.ts';
import { LookupBatcher } from './lookup-batcher.ts';
import { identityKey } from './types.ts';

export interface CredentialSource {
  getCredentials(deviceId: string, moduleId?: string): Promise<IdentityCredentials | undefined>;
  /** Many at once, keyed like identityKey; when present, concurrent misses become one lookup (lookup-batcher.ts). */
  getCredentialsMany?(ids: Array<{ deviceId: string; moduleId?: string }>): Promise<Map<string, IdentityCredentials>>;
}

interface Entry {
  value: Promise<IdentityCredentials | undefined>;
  expiresAt: number;
}

const UNKNOWN_TTL_MS = 5000;

export class CredentialCache {
  private readonly entries = new Map<string, Entry>();
  private readonly batcher: LookupBatcher<{ deviceId: string; moduleId?: string }, IdentityCredentials> | undefined;

  constructor(
    private readonly source: CredentialSource,
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
    private readonly clock: () => number = Date.now,
  ) {
    if (source.getCredentialsMany) {
      const many = source.getCredentialsMany.bind(source);
      this.batcher = new LookupBatcher<{ deviceId: string; moduleId?: string }, IdentityCredentials>((ids) => many(ids), identityKey);
    }
  }

  get(deviceId: string, moduleId?: string): Promise<IdentityCredentials | undefined> {
    const key = identityKey({ deviceId, moduleId });
    const now = this.clock();
    this.dropExpired(now);
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.expiresAt > now) return hit.value;
    const value = this.batcher ? this.batcher.get(moduleId ? { deviceId, moduleId } : { deviceId }) : this.source.getCredentials(deviceId, moduleId);
    const entry: Entry = { value, expiresAt: now + this.ttlMs };
    this.entries.delete(key);
    this.entries.set(key, entry);
    // A failed lookup (store down) must not be remembered; an unknown identity only briefly.
    value.then(
      (found) => {
        if (found === undefined && this.entries.get(key) === entry) entry.expiresAt = Math.min(entry.expiresAt, now + UNKNOWN_TTL_MS);
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return value;
  }

  /**
   * A connect of this identity succeeded: its entry is not needed any more (see the top of this file). A lookup still
   * in flight stays, so concurrent connects of the identity keep sharing it.
   */
  release(deviceId: string, moduleId?: string): void {
    const key = identityKey({ deviceId, moduleId });
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    entry.value.then((found) => {
      if (found !== undefined && this.entries.get(key) === entry) this.entries.delete(key);
    }, () => undefined);
  }

  /** Entries held (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** Drops a device's entry; a device-level change (disable, delete) also drops its modules' entries. */
  invalidate(deviceId: string, moduleId?: string): void {
    if (moduleId) {
      this.entries.delete(identityKey({ deviceId, moduleId }));
      return;
    }
    this.entries.delete(deviceId);
    const prefix = `${deviceId}/`;
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /**
   * The map is in insertion order and almost every entry lives `ttlMs`, so the expired ones are at its front; the
   * few shortened ones (unknown identities) go when they get there. Amortised O(1) per lookup.
   */
  private dropExpired(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) return;
      this.entries.delete(key);
    }
  }
}
