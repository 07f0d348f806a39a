import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedThrottle, TokenBucket } from './throttle.ts';

test('a bucket lets the burst through, then shapes, then refuses beyond the window', () => {
  const bucket = new TokenBucket(10, 2, 0);
  assert.equal(bucket.take(0, 1000), 0);
  assert.equal(bucket.take(0, 1000), 0);
  // Empty: the next token is due in 100 ms, the one after in 200 ms.
  assert.equal(bucket.take(0, 1000), 100);
  assert.equal(bucket.take(0, 1000), 200);
  // With a 250 ms window the next (300 ms) is refused and nothing is taken.
  assert.equal(bucket.take(0, 250), undefined);
  assert.equal(bucket.take(0, 1000), 300);
});

test('a bucket refills with time, up to the burst', () => {
  const bucket = new TokenBucket(10, 2, 0);
  bucket.take(0, 0);
  bucket.take(0, 0);
  assert.equal(bucket.take(0, 0), undefined);
  assert.equal(bucket.take(100, 0), 0);
  // A long pause refills only up to the burst.
  assert.equal(bucket.take(10_000, 0), 0);
  assert.equal(bucket.take(10_000, 0), 0);
  assert.equal(bucket.take(10_000, 0), undefined);
});

test('per-device buckets are independent; the hub bucket is shared; a refusal refunds the device token', () => {
  let now = 0;
  const t = new KeyedThrottle({ ratePerSecond: 1, burst: 1 }, { ratePerSecond: 2, burst: 2 }, 0, () => now);
  assert.equal(t.admit('a'), 0);
  assert.equal(t.admit('a'), undefined); // device a is out of tokens
  assert.equal(t.admit('b'), 0);
  assert.equal(t.admit('c'), undefined); // the hub is out of tokens (a + b)
  now = 1000;
  assert.equal(t.admit('c'), 0); // c's own token was refunded, so it still has it
  assert.equal(t.trackedKeys, 3);
});

test('disabled specs never throttle', () => {
  const t = new KeyedThrottle(undefined, { ratePerSecond: 0 }, 0, () => 0);
  for (let i = 0; i < 1000; i++) assert.equal(t.admit('x'), 0);
  assert.equal(t.trackedKeys, 0);
});

test('idle device buckets are swept', () => {
  let now = 0;
  const t = new KeyedThrottle({ ratePerSecond: 100 }, undefined, 0, () => now);
  for (let i = 0; i < 50; i++) t.admit(`d${i}`);
  assert.equal(t.trackedKeys, 50);
  now = 20_000;
  t.admit('late');
  assert.equal(t.trackedKeys, 1);
});
