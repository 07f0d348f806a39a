import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from './rate-limiter.ts';

/** A clock the test moves by hand: no timers, no wall-clock dependence. */
function fakeClock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

test('starts with a full burst, then refuses and says how long to wait', () => {
  const clock = fakeClock();
  const bucket = new TokenBucket(10, 3, clock.now);
  assert.equal(bucket.tryTake(), 0);
  assert.equal(bucket.tryTake(), 0);
  assert.equal(bucket.tryTake(), 0);
  const wait = bucket.tryTake();
  assert.ok(Math.abs(wait - 100) < 1e-9, `10/s: next token in 100 ms, got ${wait}`);
});

test('refills at the rate, never above the burst', () => {
  const clock = fakeClock();
  const bucket = new TokenBucket(100, 5, clock.now);
  for (let i = 0; i < 5; i++) bucket.tryTake();
  clock.advance(25); // 2.5 tokens
  assert.equal(bucket.tryTake(), 0);
  assert.equal(bucket.tryTake(), 0);
  assert.ok(bucket.tryTake() > 0);
  clock.advance(60_000); // long idle: capped at the burst
  let granted = 0;
  while (bucket.tryTake() === 0) granted++;
  assert.equal(granted, 5);
});

test('over a long stretch grants rate × time (+ burst) tokens', () => {
  const clock = fakeClock();
  const bucket = new TokenBucket(250, 1, clock.now);
  let granted = 0;
  for (let step = 0; step < 10_000; step++) {
    // 1 ms steps for 10 s of simulated time
    clock.advance(1);
    while (bucket.tryTake() === 0) granted++;
  }
  assert.ok(Math.abs(granted - 2500) <= 1, `granted ${granted}`);
});

test('a clock going backwards does not mint tokens', () => {
  const clock = fakeClock(5000);
  const bucket = new TokenBucket(1, 1, clock.now);
  assert.equal(bucket.tryTake(), 0);
  clock.advance(-4000);
  assert.ok(bucket.tryTake() > 0);
});

test('take() resolves false once aborted', async () => {
  const clock = fakeClock();
  const bucket = new TokenBucket(0.001, 1, clock.now);
  assert.equal(await bucket.take(), true);
  const abort = new AbortController();
  const pending = bucket.take(abort.signal);
  abort.abort();
  assert.equal(await pending, false);
});

test('refuses nonsense rates', () => {
  assert.throws(() => new TokenBucket(0), RangeError);
  assert.throws(() => new TokenBucket(Infinity), RangeError);
  assert.throws(() => new TokenBucket(5, 0), RangeError);
});
