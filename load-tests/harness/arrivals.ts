/**
 * Counts a run's messages as they arrive on the log: each message id is `{runId}.{deviceId}.{seq}` (simulator
 * target.ts), so one growable bitset per device tells a first arrival from a redelivery without keeping millions of
 * id strings (3 million messages of steady-10k cost ~400 KB of bits). Latencies go into HdrHistograms, one per
 * measuring point; the sampler takes interval deltas like the simulator's workers do.
 */
import { createHistogram, encodeHistogram, recordMs, type Histogram } from '../simulator/histogram.ts';

/** What one sampling interval of arrivals adds up to; histograms are compressed HdrHistograms (µs). */
export interface ArrivalDelta {
  /** First arrivals of a message id of this run. */
  unique: number;
  /** Arrivals of a message id seen before (at-least-once redelivery, SDK re-publishes). */
  duplicates: number;
  /** Records of this run whose send time could not be read (counted, not timed). */
  untimed: number;
  /** First arrivals by the hub's `connectionAuthMethod` type (`sas`, `x509Certificate`): proves the auth mix ran. */
  byAuth: Record<string, number>;
  /** Device send → the ingest node's enqueued time (the `iothub-enqueuedtime` the hub stamps). */
  enqueue?: string;
  /** Device send → read back from the log by the probe consumer. */
  arrival?: string;
}

class Bits {
  #words = new Uint32Array(4);

  /** Sets bit `i`; returns whether it was already set. */
  testAndSet(i: number): boolean {
    const w = i >>> 5;
    if (w >= this.#words.length) {
      const grown = new Uint32Array(Math.max(w + 1, this.#words.length * 2));
      grown.set(this.#words);
      this.#words = grown;
    }
    const mask = 1 << (i & 31);
    const was = (this.#words[w]! & mask) !== 0;
    this.#words[w]! |= mask;
    return was;
  }
}

export class ArrivalTracker {
  readonly #prefix: string;
  readonly #devices = new Map<string, Bits>();
  #delta = { unique: 0, duplicates: 0, untimed: 0 };
  #byAuth: Record<string, number> = {};
  /** connectionAuthMethod JSON → its type; a handful of distinct strings, so parsed once each. */
  readonly #authTypes = new Map<string, string>();
  #enqueue: Histogram = createHistogram();
  #arrival: Histogram = createHistogram();
  uniqueTotal = 0;
  duplicatesTotal = 0;

  constructor(readonly runId: string) {
    this.#prefix = `${runId}.`;
  }

  /** Whether a message id belongs to this run (other runs and other people's traffic share the topic). */
  owns(messageId: string | null | undefined): messageId is string {
    return typeof messageId === 'string' && messageId.startsWith(this.#prefix);
  }

  /**
   * Records one arrival. Times are epoch milliseconds; `sentAt` undefined when the record carried no send time.
   * Returns false for an id that is not this run's or does not parse.
   */
  record(messageId: string, sentAt: number | undefined, enqueuedAt: number | undefined, arrivedAt: number, authMethod?: string | null): boolean {
    if (!this.owns(messageId)) return false;
    const rest = messageId.slice(this.#prefix.length);
    const dot = rest.lastIndexOf('.');
    const seq = Number(rest.slice(dot + 1));
    if (dot <= 0 || !Number.isInteger(seq) || seq < 0) return false;
    const device = rest.slice(0, dot);
    let bits = this.#devices.get(device);
    if (!bits) this.#devices.set(device, (bits = new Bits()));
    if (bits.testAndSet(seq)) {
      this.#delta.duplicates++;
      this.duplicatesTotal++;
      return true;
    }
    this.#delta.unique++;
    this.uniqueTotal++;
    const auth = this.#authType(authMethod);
    this.#byAuth[auth] = (this.#byAuth[auth] ?? 0) + 1;
    if (sentAt === undefined || !Number.isFinite(sentAt)) {
      this.#delta.untimed++;
      return true;
    }
    // Millisecond clocks on one machine: a 0 ms latency is recorded as the histogram's floor (1 µs), never dropped.
    if (enqueuedAt !== undefined) recordMs(this.#enqueue, Math.max(0, enqueuedAt - sentAt));
    recordMs(this.#arrival, Math.max(0, arrivedAt - sentAt));
    return true;
  }

  #authType(json: string | null | undefined): string {
    if (!json) return 'unknown';
    let type = this.#authTypes.get(json);
    if (type === undefined) {
      try {
        type = String((JSON.parse(json) as { type?: unknown }).type ?? 'unknown');
      } catch {
        type = 'unknown';
      }
      this.#authTypes.set(json, type);
    }
    return type;
  }

  /** The interval's counts and histograms, leaving fresh ones in place. */
  takeDelta(): ArrivalDelta {
    const d: ArrivalDelta = { ...this.#delta, byAuth: this.#byAuth };
    this.#byAuth = {};
    if (this.#enqueue.totalCount > 0) d.enqueue = encodeHistogram(this.#enqueue);
    if (this.#arrival.totalCount > 0) d.arrival = encodeHistogram(this.#arrival);
    this.#delta = { unique: 0, duplicates: 0, untimed: 0 };
    this.#enqueue.reset();
    this.#arrival.reset();
    return d;
  }
}
