import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LookupBatcher } from './lookup-batcher.ts';

function recorder(fail?: Error) {
  const calls: string[][] = [];
  let gate: Promise<void> = Promise.resolve();
  const batcher = new LookupBatcher<string, string>(async (keys) => {
    calls.push(keys);
    await gate;
    if (fail) throw fail;
    return new Map(keys.filter((k) => !k.startsWith('unknown')).map((k) => [k, `value of ${k}`]));
  }, (k) => k, 3);
  return {
    calls, batcher,
    /** Batches fetched from now on wait until the returned function is called. */
    hold(): () => void {
      let release: () => void = () => {};
      gate = new Promise((r) => (release = r));
      return () => release();
    },
  };
}

test('lookups of one turn go out as one batch; a repeated key is fetched once; unknown keys resolve undefined', async () => {
  const { calls, batcher } = recorder();
  const results = await Promise.all(['a', 'b', 'a', 'unknown-c'].map((k) => batcher.get(k)));
  assert.deepEqual(calls, [['a', 'b', 'unknown-c']]);
  assert.deepEqual(results, ['value of a', 'value of b', 'value of a', undefined]);
});

test('while a batch is in flight the next one collects, and a long line is split at maxBatch', async () => {
  const r = recorder();
  const releaseFirst = r.hold();
  const first = r.batcher.get('a');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(r.calls, [['a']]);
  const later = ['b', 'c', 'd', 'e'].map((k) => r.batcher.get(k));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(r.calls, [['a']], 'nothing new goes out while the first batch is in flight');
  const releaseSecond = r.hold();
  releaseFirst();
  await first;
  releaseSecond();
  assert.deepEqual(await Promise.all(later), ['value of b', 'value of c', 'value of d', 'value of e']);
  assert.deepEqual(r.calls, [['a'], ['b', 'c', 'd'], ['e']]);
});

test('a failed batch fails each of its lookups with the error, and the next batch is tried afresh', async () => {
  const down = new Error('store down');
  const { calls, batcher } = recorder(down);
  const results = await Promise.allSettled([batcher.get('a'), batcher.get('b')]);
  assert.deepEqual(results.map((s) => s.status), ['rejected', 'rejected']);
  assert.equal((results[0] as PromiseRejectedResult).reason, down);
  await assert.rejects(batcher.get('a'), down);
  assert.deepEqual(calls, [['a', 'b'], ['a']]);
});
