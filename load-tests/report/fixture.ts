/** A small, complete BenchReport for the report tests (compare, HTML), built from real histograms. */
import { createHistogram, recordMs } from '../simulator/histogram.ts';
import { validateScenario } from '../simulator/scenario.ts';
import { latencyFigures } from './percentiles.ts';
import { REPORT_FORMAT, type BenchReport } from './types.ts';

export function figuresOf(values: number[]) {
  const h = createHistogram();
  for (const v of values) recordMs(h, v);
  return latencyFigures(h);
}

export function fakeReport(o: { rate?: number; pubackMs?: number[]; errors?: Record<string, number>; hubCores?: number; missing?: number; description?: string } = {}): BenchReport {
  const puback = figuresOf(o.pubackMs ?? [1, 2, 3, 4, 10]);
  const rate = o.rate ?? 1000;
  return {
    format: REPORT_FORMAT,
    scenario: { name: 'smoke', description: o.description ?? 'test', load: validateScenario({ devices: 3, messages: 60 }) },
    runId: 'abcd1234',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:10.000Z',
    interrupted: false,
    environment: { node: 'v20', cpus: 2, hub: { log: 'embedded' }, log: '/tmp/x.hub.log', commandLine: 'tributary bench smoke' },
    setup: { hubStartSeconds: 1, provisionSeconds: 1, devices: 3 },
    tributary: {
      target: 'tributary', seconds: 10, sent: 60, acked: 60, failed: 0, unacked: 0, rate, connected: 3, connectFailures: 0, drops: 0,
      connectLatency: figuresOf([5]).summary, puback, errors: o.errors ?? {}, interrupted: false,
      processes: [{ name: 'hub', pid: 1, cpuSeconds: 1, averageCores: o.hubCores ?? 0.5, rssKiB: { start: 1000, peak: 2048, end: 1500 } }],
    },
    endToEnd: { unique: 60 - (o.missing ?? 0), duplicates: 0, byAuth: { sas: 60 - (o.missing ?? 0) }, missing: o.missing ?? 0, arrival: figuresOf([2, 3, 4]) },
    memory: { connections: 3 },
    lag: { max: { g: 5 }, end: { g: 0 } },
    clickhouse: { status: 'not-configured', note: 'not set' },
    timeline: [
      { t: 1, phase: 'running', ackRate: rate, arrivalRate: rate, pubackP99: 3, acked: 10, arrived: 10, errors: 0, open: 3, hubRssKiB: 1000, hubCores: 0.5, generatorRssKiB: 900, generatorCores: 0.2, lag: 4 },
      { t: 2, phase: 'running', ackRate: rate, arrivalRate: rate, pubackP99: 4, acked: 60, arrived: 60, errors: 0, open: 3, hubRssKiB: 1200, hubCores: 0.6, generatorRssKiB: 950, generatorCores: 0.3, lag: 0 },
    ],
    notes: [],
  };
}
