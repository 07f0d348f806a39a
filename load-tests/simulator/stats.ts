/**
 * Counters the workers report (as deltas since their previous report) and the main thread's running totals. Kept
 * free of I/O so merging is unit-tested; the worker/runner only move these objects around.
 */
import { createHistogram, decodeHistogram, summarize, type Histogram, type LatencySummary } from './histogram.ts';

export interface WorkerReport {
  /** Publishes handed to the client. */
  sent: number;
  /** Publishes acknowledged (PUBACK for QoS 1, written for QoS 0). */
  acked: number;
  /** Publishes that failed (connection closed under them, client error). */
  failed: number;
  connects: number;
  connectFailures: number;
  /** Connections lost during the run (not the ones we closed). */
  drops: number;
  /** Errors by `phase:code-or-reason`, e.g. `connect:ECONNREFUSED`, `connack:5`, `drop:ECONNRESET`. */
  errors: Record<string, number>;
  /** Publish→ack latency, compressed HdrHistogram of this interval. */
  latency?: string;
  /** TCP/TLS connect→CONNACK latency of this interval. */
  connectLatency?: string;
  /** Gauges (not deltas): open connections and publishes outstanding right now in this worker. */
  open: number;
  inFlight: number;
}

export function emptyReport(): WorkerReport {
  return { sent: 0, acked: 0, failed: 0, connects: 0, connectFailures: 0, drops: 0, errors: {}, open: 0, inFlight: 0 };
}

export function countError(errors: Record<string, number>, key: string, n = 1): void {
  errors[key] = (errors[key] ?? 0) + n;
}

/** A short, bounded key for an error: its code (`ECONNRESET`, CONNACK return code) or a trimmed message. */
export function errorKey(phase: string, err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (e && (typeof e.code === 'string' || typeof e.code === 'number')) return `${phase}:${e.code}`;
  const message = e && typeof e.message === 'string' ? e.message : String(err);
  // Messages can carry ids or addresses; cut them so a flood of errors stays a handful of keys.
  return `${phase}:${message.replace(/\s+/g, ' ').slice(0, 60)}`;
}

export class Totals {
  sent = 0;
  acked = 0;
  failed = 0;
  connects = 0;
  connectFailures = 0;
  drops = 0;
  readonly errors: Record<string, number> = {};
  readonly latency: Histogram = createHistogram();
  readonly connectLatency: Histogram = createHistogram();
  /** Latest gauges per worker. */
  readonly #gauges = new Map<number, { open: number; inFlight: number }>();

  add(worker: number, r: WorkerReport): void {
    this.sent += r.sent;
    this.acked += r.acked;
    this.failed += r.failed;
    this.connects += r.connects;
    this.connectFailures += r.connectFailures;
    this.drops += r.drops;
    for (const [k, n] of Object.entries(r.errors)) countError(this.errors, k, n);
    if (r.latency) this.latency.add(decodeHistogram(r.latency));
    if (r.connectLatency) this.connectLatency.add(decodeHistogram(r.connectLatency));
    this.#gauges.set(worker, { open: r.open, inFlight: r.inFlight });
  }

  get open(): number {
    let n = 0;
    for (const g of this.#gauges.values()) n += g.open;
    return n;
  }

  get inFlight(): number {
    let n = 0;
    for (const g of this.#gauges.values()) n += g.inFlight;
    return n;
  }

  get errorCount(): number {
    return Object.values(this.errors).reduce((a, b) => a + b, 0);
  }

  latencySummary(): LatencySummary {
    return summarize(this.latency);
  }
}
