import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHistogram, encodeHistogram, recordMs } from '../simulator/histogram.ts';
import { TABLE_PERCENTILES, latencyFigures, latencyFiguresOf, percentileAxis, spectrumPercentiles, valueAt } from './percentiles.ts';

/** HdrHistogram keeps 3 significant digits: a value is exact to within 0.1 %. */
const close = (actual: number | undefined, expected: number, what: string) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= expected * 0.001 + 0.001, `${what}: ${actual} vs ${expected}`);

test('the table holds the nearest-rank percentiles of what was recorded, and the max', () => {
  // 1..1000 ms once each: the value at percentile p is the ceil(p/100 · 1000)-th smallest, i.e. p·10 ms.
  const h = createHistogram();
  const values = Array.from({ length: 1000 }, (_, i) => i + 1);
  for (const v of [...values].reverse()) recordMs(h, v);
  const f = latencyFigures(h);
  assert.deepEqual(f.table.map((p) => p.percentile), [...TABLE_PERCENTILES, 100]);
  for (const p of [50, 75, 90, 95, 99, 99.9]) close(valueAt(f, p), values[Math.ceil((p / 100) * values.length) - 1]!, `p${p}`);
  close(valueAt(f, 100), 1000, 'max');
  assert.equal(f.summary.count, 1000);
  close(f.summary.mean, 500.5, 'mean');
});

test('a skewed distribution: the tail percentiles find the rare slow values', () => {
  const h = createHistogram();
  for (let i = 0; i < 9_990; i++) recordMs(h, 2);
  for (let i = 0; i < 10; i++) recordMs(h, 800);
  const f = latencyFigures(h);
  close(valueAt(f, 99), 2, 'p99');
  close(valueAt(f, 99.9), 2, 'p99.9 (the 9,990th of 10,000 is still fast)');
  close(valueAt(f, 99.99), 800, 'p99.99');
  close(valueAt(f, 100), 800, 'max');
});

test('the spectrum runs from p0 to the max, non-decreasing, and merges encoded histograms exactly', () => {
  const a = createHistogram();
  const b = createHistogram();
  for (let i = 1; i <= 500; i++) recordMs(a, i / 10);
  for (let i = 501; i <= 1000; i++) recordMs(b, i / 10);
  const f = latencyFiguresOf([encodeHistogram(a), encodeHistogram(b)]);
  assert.equal(f.summary.count, 1000);
  assert.equal(f.spectrum[0]!.percentile, 0);
  assert.equal(f.spectrum.at(-1)!.percentile, 100);
  assert.equal(f.spectrum.length, spectrumPercentiles().length + 1);
  for (let i = 1; i < f.spectrum.length; i++) assert.ok(f.spectrum[i]!.ms >= f.spectrum[i - 1]!.ms);
  close(valueAt(f, 50), 50, 'p50 across both parts');
});

test('an empty histogram gives empty tables, not zeros pretending to be measurements', () => {
  const f = latencyFigures(createHistogram());
  assert.deepEqual(f.table, []);
  assert.deepEqual(f.spectrum, []);
  assert.equal(valueAt(f, 99), undefined);
});

test('the log axis puts 90, 99, 99.9 % one decade apart', () => {
  assert.equal(percentileAxis(0), 0);
  close(percentileAxis(90), 1, '90');
  close(percentileAxis(99), 2, '99');
  close(percentileAxis(99.9), 3, '99.9');
  assert.ok(percentileAxis(100) > percentileAxis(99.999));
});
