import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHistogram, decodeHistogram, encodeHistogram, mergeEncoded, recordMs, summarize } from './histogram.ts';
import { Totals, countError, emptyReport, errorKey } from './stats.ts';

/** Deterministic pseudo-random latencies (ms), so the test is reproducible without Math.random. */
function latencies(seed: number, n: number): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return 0.05 + (x % 200_000) / 1000;
  });
}

describe('histogram merging', () => {
  test('merging the encoded histograms of several workers equals recording everything in one', () => {
    const parts = [latencies(1, 5000), latencies(2, 3000), latencies(3, 1)];
    const single = createHistogram();
    const encoded = parts.map((values) => {
      const h = createHistogram();
      for (const v of values) {
        recordMs(h, v);
        recordMs(single, v);
      }
      return encodeHistogram(h);
    });
    const merged = mergeEncoded(encoded);
    assert.equal(merged.totalCount, 8001);
    for (const p of [50, 90, 99, 99.9, 100]) assert.equal(merged.getValueAtPercentile(p), single.getValueAtPercentile(p), `p${p}`);
    const m = summarize(merged);
    const s = summarize(single);
    assert.deepEqual({ ...m, max: 0 }, { ...s, max: 0 });
    // A decoded histogram knows its max only to its resolution (3 significant digits), as HdrHistogram documents.
    assert.ok(Math.abs(m.max - s.max) / s.max <= 0.001, `max ${m.max} vs ${s.max}`);
  });

  test('encode/decode round-trips counts and extremes', () => {
    const h = createHistogram();
    recordMs(h, 0.0001); // below 1 µs: recorded as 1 µs, never lost
    recordMs(h, 2.5);
    recordMs(h, 90_000);
    const back = decodeHistogram(encodeHistogram(h));
    assert.equal(back.totalCount, 3);
    assert.equal(back.minNonZeroValue, 1);
    assert.ok(Math.abs(back.maxValue - 90_000_000) / 90_000_000 < 0.001);
  });

  test('summary is in milliseconds and zero for an empty histogram', () => {
    assert.deepEqual(summarize(createHistogram()), { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 });
    const h = createHistogram();
    for (let i = 0; i < 100; i++) recordMs(h, 10);
    const s = summarize(h);
    assert.ok(Math.abs(s.p50 - 10) < 0.01 && Math.abs(s.max - 10) < 0.01, JSON.stringify(s));
  });
});

describe('Totals', () => {
  test('adds deltas, merges errors and latency, keeps the latest gauges per worker', () => {
    const totals = new Totals();
    const a = emptyReport();
    a.sent = 10; a.acked = 8; a.failed = 1; a.connects = 2; a.open = 2; a.inFlight = 2;
    countError(a.errors, 'drop:ECONNRESET');
    const h = createHistogram();
    for (const v of [1, 2, 3]) recordMs(h, v);
    a.latency = encodeHistogram(h);
    const b = emptyReport();
    b.sent = 5; b.acked = 5; b.connects = 3; b.open = 3; b.inFlight = 0;
    countError(b.errors, 'drop:ECONNRESET', 2);
    countError(b.errors, 'connack:5');
    b.latency = encodeHistogram(h);
    totals.add(0, a);
    totals.add(1, b);
    const a2 = emptyReport();
    a2.acked = 2; a2.open = 1; a2.inFlight = 0;
    totals.add(0, a2);
    assert.equal(totals.sent, 15);
    assert.equal(totals.acked, 15);
    assert.equal(totals.failed, 1);
    assert.equal(totals.connects, 5);
    assert.deepEqual(totals.errors, { 'drop:ECONNRESET': 3, 'connack:5': 1 });
    assert.equal(totals.errorCount, 4);
    assert.equal(totals.open, 4); // worker 0 now reports 1, worker 1 still 3
    assert.equal(totals.inFlight, 0);
    assert.equal(totals.latency.totalCount, 6);
  });
});

describe('errorKey', () => {
  test('uses the code when there is one, else a bounded message', () => {
    assert.equal(errorKey('drop', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), 'drop:ECONNRESET');
    assert.equal(errorKey('connack', Object.assign(new Error('Connection refused: Not authorized'), { code: 5 })), 'connack:5');
    assert.equal(errorKey('publish', new Error('Connection\n  closed')), 'publish:Connection closed');
    assert.equal(errorKey('x', new Error('y'.repeat(500))).length, 'x:'.length + 60);
    assert.equal(errorKey('x', 'plain string'), 'x:plain string');
  });
});
