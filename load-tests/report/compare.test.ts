import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TributaryError } from '../../core/errors/index.ts';
import { compareReports, formatComparison, readReport, run, verdictOf } from './compare.ts';
import { fakeReport } from './fixture.ts';

afterEach(() => {
  process.exitCode = 0;
});

test('ratios are result ÷ baseline; the verdict knows which direction is better', () => {
  const base = fakeReport({ rate: 1000, pubackMs: [10, 10, 10, 10, 10], hubCores: 0.5 });
  const result = fakeReport({ rate: 800, pubackMs: [5, 5, 5, 5, 5], hubCores: 0.52, errors: { 'drop:ECONNRESET': 3 } });
  const rows = new Map(compareReports(base, result).map((r) => [r.metric, r]));
  const throughput = rows.get('throughput')!;
  assert.equal(throughput.baseline, 1000);
  assert.equal(throughput.result, 800);
  assert.equal(throughput.ratio, 0.8);
  assert.equal(throughput.verdict, 'worse');
  const p99 = rows.get('PUBACK p99')!;
  assert.ok(Math.abs(p99.ratio! - 0.5) < 0.002, String(p99.ratio));
  assert.equal(p99.verdict, 'better', 'lower latency is better');
  assert.equal(rows.get('hub CPU')!.verdict, 'same', '4 % is within the 10 % tolerance');
  // From zero errors to three: no ratio, but a verdict.
  assert.equal(rows.get('errors')!.ratio, undefined);
  assert.equal(rows.get('errors')!.verdict, 'worse');
  // CPU per 1k msg/s: 0.5 cores at 1,000/s = 0.5, 0.52 at 800/s = 0.65.
  assert.ok(Math.abs(rows.get('hub CPU per 1k msg/s')!.result! - 0.65) < 1e-9);
  // Figures neither report has are left out.
  assert.equal(rows.has('device→ClickHouse p99'), false);
  assert.equal(rows.has('ratio vs Mosquitto'), false);
});

test('verdictOf: tolerance, zero baselines, missing values', () => {
  assert.equal(verdictOf(100, 109, 'higher', 0.1), 'same');
  assert.equal(verdictOf(100, 111, 'higher', 0.1), 'better');
  assert.equal(verdictOf(100, 111, 'lower', 0.1), 'worse');
  assert.equal(verdictOf(0, 0, 'lower', 0.1), 'same');
  assert.equal(verdictOf(undefined, 5, 'lower', 0.1), 'n/a');
});

test('the table prints every row with its ratio', () => {
  const text = formatComparison(compareReports(fakeReport({ rate: 1000 }), fakeReport({ rate: 2000 })));
  assert.match(text, /throughput\s+msg\/s\s+1,000\s+2,000\s+2\.00×\s+better/);
});

test('the command reads two result files, and --fail-on-regression exits non-zero on a worse figure', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-compare-'));
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  writeFileSync(a, JSON.stringify(fakeReport({ rate: 1000 })));
  writeFileSync(b, JSON.stringify(fakeReport({ rate: 500 })));
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.join(' '));
  try {
    await run([a, b]);
    assert.equal(process.exitCode ?? 0, 0, 'without the flag a regression is only reported');
    await run([a, b, '--fail-on-regression']);
    assert.equal(process.exitCode, 1);
  } finally {
    console.log = log;
  }
  assert.ok(lines.some((l) => /0\.50×\s+worse/.test(l)), lines.join('\n'));
});

test('readReport refuses what is not a result file, saying what to pass', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-compare-'));
  const html = join(dir, 'r.html');
  writeFileSync(html, '<!doctype html>');
  assert.throws(() => readReport(html), (e: unknown) => e instanceof TributaryError && /pass the \.json/.test(e.message));
  const other = join(dir, 'o.json');
  writeFileSync(other, '{"format":"something-else"}');
  assert.throws(() => readReport(other), /not a tributary-load-test\/1 result/);
  await assert.rejects(run(['only-one.json']), /usage/);
});

test('a --split run compares on the hub as a whole: its role processes added up', () => {
  const single = fakeReport({ rate: 1000, hubCores: 1.2 });
  const split = fakeReport({ rate: 1000 });
  split.tributary.processes = [
    { name: 'hub:ingest', pid: 11, cpuSeconds: 9, averageCores: 0.8, publishingCores: 0.9, rssKiB: { start: 100_000, peak: 200 * 1024, end: 150_000 } },
    { name: 'hub:processors', pid: 12, cpuSeconds: 4, averageCores: 0.4, publishingCores: 0.5, rssKiB: { start: 100_000, peak: 150 * 1024, end: 120_000 } },
    { name: 'hub:connectors', pid: 13, cpuSeconds: 1, averageCores: 0.1, rssKiB: { start: 90_000, peak: 100 * 1024, end: 95_000 } },
    { name: 'generator', pid: 10, cpuSeconds: 5, averageCores: 0.5, publishingCores: 0.6, rssKiB: { start: 1, peak: 999_999, end: 1 } },
  ];
  const rows = new Map(compareReports(single, split).map((r) => [r.metric, r]));
  // 0.9 + 0.5 while publishing, + 0.1 over the run for the process that had no publishing figure; not the generator.
  assert.ok(Math.abs(rows.get('hub CPU')!.result! - 1.5) < 1e-9, String(rows.get('hub CPU')!.result));
  assert.equal(rows.get('hub RSS peak')!.result, 200 + 150 + 100);
});
