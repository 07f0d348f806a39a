/**
 * `tributary bench compare <baseline.json> <result.json>`: the ratio result/baseline for each headline figure, and
 * whether that is better, worse or the same within a tolerance (default 10 %, since two runs on a shared 2-core
 * machine differ by that much on their own). `--fail-on-regression` makes a worse figure exit non-zero, for CI.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TributaryError } from '../../core/errors/index.ts';
import { formatTable } from '../table.ts';
import { valueAt } from './percentiles.ts';
import { REPORT_FORMAT, type BenchReport } from './types.ts';

export interface Metric {
  name: string;
  unit: string;
  better: 'higher' | 'lower';
  get(r: BenchReport): number | undefined;
}

/** The hub's process, or its role processes with `--split` (`hub:ingest` …): the hub figures add them up. */
const hubs = (r: BenchReport) => r.tributary.processes.filter((p) => p.name === 'hub' || p.name.startsWith('hub:'));
const sumOf = (r: BenchReport, f: (p: BenchReport['tributary']['processes'][number]) => number): number | undefined => {
  const h = hubs(r);
  return h.length === 0 ? undefined : h.reduce((sum, p) => sum + f(p), 0);
};
/** While publishing when the run had a publishing phase, else over the whole run (idle scenarios). */
const hubCores = (r: BenchReport) => sumOf(r, (p) => p.publishingCores ?? p.averageCores);

export const METRICS: Metric[] = [
  { name: 'throughput', unit: 'msg/s', better: 'higher', get: (r) => r.tributary.rate },
  { name: 'PUBACK p50', unit: 'ms', better: 'lower', get: (r) => valueAt(r.tributary.puback, 50) },
  { name: 'PUBACK p99', unit: 'ms', better: 'lower', get: (r) => valueAt(r.tributary.puback, 99) },
  { name: 'PUBACK max', unit: 'ms', better: 'lower', get: (r) => valueAt(r.tributary.puback, 100) },
  { name: 'device→log p50', unit: 'ms', better: 'lower', get: (r) => valueAt(r.endToEnd.arrival, 50) },
  { name: 'device→log p99', unit: 'ms', better: 'lower', get: (r) => valueAt(r.endToEnd.arrival, 99) },
  { name: 'device→ClickHouse p99', unit: 'ms', better: 'lower', get: (r) => valueAt(r.clickhouse.latency, 99) },
  { name: 'messages missing', unit: 'msgs', better: 'lower', get: (r) => r.endToEnd.missing },
  { name: 'errors', unit: 'count', better: 'lower', get: (r) => Object.values(r.tributary.errors).reduce((a, b) => a + b, 0) },
  { name: 'hub CPU', unit: 'cores', better: 'lower', get: (r) => hubCores(r) },
  { name: 'hub CPU per 1k msg/s', unit: 'cores', better: 'lower', get: (r) => { const c = hubCores(r); return c !== undefined && r.tributary.rate > 0 ? (c * 1000) / r.tributary.rate : undefined; } },
  // With --split: the sum of each process's peak (they need not peak at the same moment, so an upper bound).
  { name: 'hub RSS peak', unit: 'MiB', better: 'lower', get: (r) => { const p = sumOf(r, (h) => h.rssKiB.peak); return p === undefined ? undefined : p / 1024; } },
  { name: 'memory per connection', unit: 'KiB', better: 'lower', get: (r) => r.memory.perConnectionKiB },
  { name: 'open connections', unit: 'count', better: 'higher', get: (r) => r.memory.connections || undefined },
  { name: 'ratio vs Mosquitto', unit: '×', better: 'higher', get: (r) => r.baseline?.ratio },
];

export type Verdict = 'better' | 'worse' | 'same' | 'n/a';

export interface ComparisonRow {
  metric: string;
  unit: string;
  baseline: number | undefined;
  result: number | undefined;
  /** result / baseline; undefined when either is missing or the baseline is 0. */
  ratio: number | undefined;
  verdict: Verdict;
}

export function verdictOf(baseline: number | undefined, result: number | undefined, better: Metric['better'], tolerance: number): Verdict {
  if (baseline === undefined || result === undefined) return 'n/a';
  // Counts that should be zero (errors, missing): any change from zero is a verdict of its own.
  if (baseline === 0) return result === 0 ? 'same' : better === 'lower' ? 'worse' : 'better';
  const ratio = result / baseline;
  if (Math.abs(ratio - 1) <= tolerance) return 'same';
  return (ratio > 1) === (better === 'higher') ? 'better' : 'worse';
}

export function compareReports(baseline: BenchReport, result: BenchReport, tolerance = 0.1): ComparisonRow[] {
  return METRICS.map((m) => {
    const b = m.get(baseline);
    const r = m.get(result);
    return { metric: m.name, unit: m.unit, baseline: b, result: r, ratio: b !== undefined && r !== undefined && b !== 0 ? r / b : undefined, verdict: verdictOf(b, r, m.better, tolerance) };
  }).filter((row) => row.baseline !== undefined || row.result !== undefined);
}

const fmt = (v: number | undefined) => (v === undefined ? '–' : Math.abs(v) >= 100 || Number.isInteger(v) ? Math.round(v).toLocaleString('en-US') : v.toFixed(2));

export function formatComparison(rows: ComparisonRow[]): string {
  return formatTable(
    ['metric', 'unit', 'baseline', 'result', 'ratio', 'verdict'],
    rows.map((r) => [r.metric, r.unit, fmt(r.baseline), fmt(r.result), r.ratio === undefined ? '–' : `${r.ratio.toFixed(2)}×`, r.verdict]),
    [0, 1, 5],
  );
}

export function readReport(file: string): BenchReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TributaryError('ArgumentInvalid', `cannot read ${file} as a load-test result (${(err as Error).message}); pass the .json a bench run wrote`, { cause: err });
  }
  if ((parsed as { format?: unknown }).format !== REPORT_FORMAT) {
    throw new TributaryError('ArgumentInvalid', `${file} is not a ${REPORT_FORMAT} result; pass the .json a bench run wrote (not the .html)`);
  }
  return parsed as BenchReport;
}

export async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { tolerance: { type: 'string', default: '0.1' }, 'fail-on-regression': { type: 'boolean', default: false } } });
  if (positionals.length !== 2) throw new TributaryError('ArgumentInvalid', 'usage: tributary bench compare <baseline.json> <result.json> [--tolerance 0.1] [--fail-on-regression]');
  const [baseFile, resultFile] = positionals as [string, string];
  const baseline = readReport(baseFile);
  const result = readReport(resultFile);
  if (baseline.scenario.name !== result.scenario.name) console.log(`note: comparing scenario ${baseline.scenario.name} with ${result.scenario.name}`);
  const rows = compareReports(baseline, result, Number(values.tolerance));
  console.log(`baseline ${baseFile} (${baseline.startedAt})\nresult   ${resultFile} (${result.startedAt})\n`);
  console.log(formatComparison(rows));
  const worse = rows.filter((r) => r.verdict === 'worse');
  if (worse.length > 0 && values['fail-on-regression']) {
    console.log(`\n${worse.length} figure(s) worse than the baseline: ${worse.map((r) => r.metric).join(', ')}`);
    process.exitCode = 1;
  }
}
