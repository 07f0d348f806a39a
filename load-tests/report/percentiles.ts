/**
 * Percentiles out of HdrHistograms for the report: a short table (p50 … p99.99, max) and a dense "percentile
 * spectrum" for the plot, spaced evenly on HdrHistogram's usual log axis x = log10(1 / (1 − p)), where 90 %, 99 %,
 * 99.9 % … are equally far apart — the shape of the tail is what a latency plot is for.
 */
import { createHistogram, decodeHistogram, summarize, type Histogram, type LatencySummary } from '../simulator/histogram.ts';

export interface PercentilePoint {
  /** 0–100. */
  percentile: number;
  /** Milliseconds. */
  ms: number;
}

export interface LatencyFigures {
  summary: LatencySummary;
  /** The table: TABLE_PERCENTILES and 100 (the max). */
  table: PercentilePoint[];
  /** The plot: SPECTRUM_STEPS points from 0 to 99.999 plus 100. */
  spectrum: PercentilePoint[];
}

export const TABLE_PERCENTILES = [50, 75, 90, 95, 99, 99.9, 99.99] as const;
/** Tenths of a decade: 0, 20.6, 36.9, …, 90, …, 99, …, 99.999. */
const SPECTRUM_DECADES = 5;
const SPECTRUM_STEPS_PER_DECADE = 10;

export function spectrumPercentiles(): number[] {
  const out: number[] = [];
  for (let i = 0; i <= SPECTRUM_DECADES * SPECTRUM_STEPS_PER_DECADE; i++) {
    out.push(100 * (1 - 10 ** (-i / SPECTRUM_STEPS_PER_DECADE)));
  }
  return out;
}

/** The x position of a percentile on the log axis (0 for p0, 2 for p99, 3 for p99.9); p100 is placed one step beyond the last. */
export function percentileAxis(percentile: number): number {
  if (percentile >= 100) return SPECTRUM_DECADES + 1 / SPECTRUM_STEPS_PER_DECADE;
  return Math.log10(100 / (100 - percentile));
}

export function pointsOf(h: Histogram, percentiles: readonly number[]): PercentilePoint[] {
  if (h.totalCount === 0) return [];
  return percentiles.map((p) => ({ percentile: p, ms: (p >= 100 ? h.maxValue : h.getValueAtPercentile(p)) / 1000 }));
}

export function latencyFigures(h: Histogram): LatencyFigures {
  return {
    summary: summarize(h),
    table: pointsOf(h, [...TABLE_PERCENTILES, 100]),
    spectrum: pointsOf(h, [...spectrumPercentiles(), 100]),
  };
}

/** From one or more compressed histograms (the simulator's wire form). */
export function latencyFiguresOf(encoded: Iterable<string>): LatencyFigures {
  const h = createHistogram();
  for (const e of encoded) h.add(decodeHistogram(e));
  return latencyFigures(h);
}

/** The value at a percentile from a figures table (exact match), for compare and summaries. */
export function valueAt(figures: LatencyFigures | undefined, percentile: number): number | undefined {
  return figures?.table.find((p) => p.percentile === percentile)?.ms;
}
