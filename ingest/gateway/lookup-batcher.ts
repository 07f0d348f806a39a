/**
 * Turns the store lookups of many concurrent connects into one statement per batch (issue 5, 1,000 connects/s):
 * a statement costs about the same for one key as for a few hundred (`= ANY($1)`), and on PGlite every statement
 * runs on the event loop, so per-connect statements were most of the hub's CPU per connect and queued behind each other.
 *
 * Keys asked for in the same turn of the event loop go out together once that turn's I/O is handled; while a batch
 * is in flight the next one collects (group commit), so a slow store gets fewer, larger statements instead of a queue.
 * A key asked for twice in one batch is fetched once. A failed batch fails each of its lookups with the same error.
 */

export type BatchFetch<K, V> = (keys: K[]) => Promise<Map<string, V>>;

interface Pending<K, V> {
  key: K;
  waiters: Array<{ resolve: (v: V | undefined) => void; reject: (err: unknown) => void }>;
}

export class LookupBatcher<K, V> {
  private pending = new Map<string, Pending<K, V>>();
  private scheduled = false;
  private inFlight = false;

  /**
   * @param fetch answers a batch: the found values by `keyOf(key)`; keys it leaves out are "not found"
   * @param maxBatch most keys per statement (a longer line is split over several)
   */
  constructor(
    private readonly fetch: BatchFetch<K, V>,
    private readonly keyOf: (key: K) => string,
    private readonly maxBatch = 500,
  ) {}

  get(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const id = this.keyOf(key);
      let entry = this.pending.get(id);
      if (entry === undefined) {
        entry = { key, waiters: [] };
        this.pending.set(id, entry);
      }
      entry.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.inFlight || this.pending.size === 0) return;
    this.inFlight = true;
    const batch = [...this.pending.values()].slice(0, this.maxBatch);
    for (const entry of batch) this.pending.delete(this.keyOf(entry.key));
    try {
      const found = await this.fetch(batch.map((e) => e.key));
      for (const entry of batch) {
        const value = found.get(this.keyOf(entry.key));
        for (const w of entry.waiters) w.resolve(value);
      }
    } catch (err) {
      for (const entry of batch) for (const w of entry.waiters) w.reject(err);
    } finally {
      this.inFlight = false;
      if (this.pending.size > 0) this.schedule();
    }
  }
}
