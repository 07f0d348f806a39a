import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RampPacer, TokenBucket } from './rate-limiter.ts';

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

test('pacer without a ramp allows rate × elapsed, in whole messages', () => {
  const clock = fakeClock();
  const pacer = new RampPacer(200, 0, 10, clock.now);
  assert.equal(pacer.available(), 0);
  clock.advance(1000);
  assert.equal(pacer.available(), 200);
  pacer.take(150);
  clock.advance(12); // 2.4 more
  assert.equal(pacer.available(), 52);
});

test('pacer ramps linearly: the allowance is the integral of the rate', () => {
  const clock = fakeClock();
  const pacer = new RampPacer(1000, 10, 100, clock.now);
  // During the ramp the rate at t is 100·t, so 0..4 s allows 100·4²/2 = 800.
  assert.equal(pacer.allowance(4), 800);
  // Past it: the full ramp's 5,000 plus 1,000/s, i.e. 1000·(t − 5).
  assert.equal(pacer.allowance(10), 5000);
  assert.equal(pacer.allowance(12), 7000);
  clock.advance(4000);
  assert.equal(pacer.available(), 800);
  assert.equal(pacer.currentRate(), 400);
  clock.advance(8000);
  assert.equal(pacer.currentRate(), 1000);
});

test('pacer forfeits a backlog beyond the burst instead of flooding after a stall', () => {
  const clock = fakeClock();
  const pacer = new RampPacer(1000, 0, 0.1, clock.now);
  clock.advance(5000); // 5,000 owed, but at most 100 (0.1 s) may go out at once
  assert.equal(pacer.available(), 100);
  pacer.take(100);
  assert.equal(pacer.available(), 0);
  clock.advance(10);
  assert.equal(pacer.available(), 10);
});
