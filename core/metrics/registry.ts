import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Prometheus registry per process, served by the metrics endpoint. Names follow Prometheus conventions:
 * `tributary_<component>_<what>_<unit>` with `_total` for counters and base units (seconds, bytes).
 */
export const metricsRegistry = new Registry();
let defaultsCollected = false;

/** Process metrics (CPU, RSS, event-loop lag, GC); called once by the long-running roles, not by tests or tools. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: metricsRegistry, prefix: 'tributary_' });
}

/** Returns the metric registered under `name`, creating it on first use (runtimes may be started more than once). */
function getOrCreate<T>(name: string, create: () => T): T {
  return (metricsRegistry.getSingleMetric(name) as T | undefined) ?? create();
}

export function counter(name: string, help: string, labelNames: readonly string[]): Counter<string> {
  return getOrCreate(name, () => new Counter({ name, help, labelNames, registers: [metricsRegistry] }));
}

export function histogram(name: string, help: string, labelNames: readonly string[], buckets?: number[]): Histogram<string> {
  return getOrCreate(name, () => new Histogram({ name, help, labelNames, registers: [metricsRegistry], ...(buckets ? { buckets } : {}) }));
}

export function gauge(name: string, help: string, labelNames: readonly string[]): Gauge<string> {
  return getOrCreate(name, () => new Gauge({ name, help, labelNames, registers: [metricsRegistry] }));
}
