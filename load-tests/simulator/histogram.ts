/**
 * Latency histograms (HdrHistogram, microseconds). Workers record into their own histogram and ship its compressed
 * encoding each report interval; the main thread decodes and adds, which keeps percentiles exact over all workers
 * (averaging per-worker percentiles would not be).
 */
import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

/** 1 µs .. 120 s at 3 significant digits; auto-resize keeps a pathological outlier from throwing. */
export function createHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records a duration given in (fractional) milliseconds. */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)));
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 32, false);
}

/** Adds every encoded histogram into `into` (created if absent) and returns it. */
export function mergeEncoded(encoded: Iterable<string>, into: Histogram = createHistogram()): Histogram {
  for (const e of encoded) {
    const h = decodeHistogram(e);
    into.add(h);
  }
  return into;
}

export interface LatencySummary {
  count: number;
  /** Milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => us / 1000;
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}
