import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceCache } from './device-cache.ts';

function cache(maxEntries = 10, ttlMs = 1000) {
  let now = 0;
  const c = new DeviceCache<string>({ maxEntries, ttlMs, now: () => now });
  return { c, advance: (ms: number) => (now += ms) };
}

test('hits until the TTL passes, then loads again', async () => {
  const { c, advance } = cache();
  let loads = 0;
  const load = async () => `v${++loads}`;
  assert.deepEqual(await c.getOrLoad('d', null, load), { value: 'v1', hit: false });
  assert.deepEqual(await c.getOrLoad('d', null, load), { value: 'v1', hit: true });
  advance(1000);
  assert.deepEqual(await c.getOrLoad('d', null, load), { value: 'v2', hit: false });
});

test('evicts the least recently used entry beyond maxEntries', async () => {
  const { c } = cache(2);
  await c.getOrLoad('a', null, async () => 'a');
  await c.getOrLoad('b', null, async () => 'b');
  await c.getOrLoad('a', null, async () => 'a2'); // a is now the most recent
  await c.getOrLoad('c', null, async () => 'c');
  assert.equal(c.size, 2);
  assert.equal((await c.getOrLoad('a', null, async () => 'reloaded')).hit, true);
  assert.equal((await c.getOrLoad('b', null, async () => 'b2')).value, 'b2');
});

test('invalidating a device drops its module entries too', async () => {
  const { c } = cache();
  await c.getOrLoad('d', null, async () => 'device');
  await c.getOrLoad('d', 'm', async () => 'module');
  await c.getOrLoad('other', null, async () => 'other');
  c.invalidateDevice('d');
  assert.equal(c.size, 1);
  assert.equal((await c.getOrLoad('d', 'm', async () => 'module2')).value, 'module2');
});

test('a load that an invalidation overtook is returned but not cached', async () => {
  const { c } = cache();
  let release!: (v: string) => void;
  const pending = c.getOrLoad('d', null, () => new Promise<string>((resolve) => (release = resolve)));
  c.invalidateDevice('d');
  release('stale');
  assert.equal((await pending).value, 'stale');
  assert.deepEqual(await c.getOrLoad('d', null, async () => 'fresh'), { value: 'fresh', hit: false });
});

test('concurrent lookups of one key share one load; a failed load is not cached', async () => {
  const { c } = cache();
  let loads = 0;
  const load = async () => {
    loads++;
    await new Promise((r) => setImmediate(r));
    return 'v';
  };
  await Promise.all([c.getOrLoad('d', null, load), c.getOrLoad('d', null, load)]);
  assert.equal(loads, 1);
  await assert.rejects(c.getOrLoad('x', null, async () => Promise.reject(new Error('down'))), /down/);
  assert.equal((await c.getOrLoad('x', null, async () => 'up')).value, 'up');
});
