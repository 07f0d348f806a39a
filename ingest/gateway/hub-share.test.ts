import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { PgliteStore, migrate, type Store } from '../../core/store/index.ts';
import { fairShares, HubShare } from './hub-share.ts';
import { KeyedThrottle } from './throttle.ts';

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const near = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: expected ${expected}, got ${actual}`);

test('fairShares: the shares add up to the limit, a small demand is met in full, the rest goes to the busy nodes', () => {
  const shares = fairShares(100, [150, 10]);
  near(sum(shares), 100, 'sum');
  // 5 % reserve split equally (2.5 each); B gets its 10 on top; A the remaining 85.
  near(shares[1]!, 12.5, 'small node');
  near(shares[0]!, 87.5, 'busy node');
});

test('fairShares: equal demands give equal shares; what nobody asked for is split equally', () => {
  const busy = fairShares(90, [500, 500, 500]);
  for (const s of busy) near(s, 30, 'equal share');
  const idle = fairShares(100, [0, 0, 20]);
  near(sum(idle), 100, 'sum');
  // Reserve 5/3 each, C gets 20, the 75 nobody asked for in thirds: an idle node can still admit right away.
  near(idle[0]!, 5 / 3 + 25, 'idle node');
  near(idle[2]!, 5 / 3 + 20 + 25, 'node with demand');
});

test('fairShares: bad demand figures count as none; no nodes, no shares', () => {
  const shares = fairShares(10, [Number.NaN, -5, 10]);
  near(sum(shares), 10, 'sum');
  assert.ok(shares.every((s) => s > 0));
  assert.deepEqual(fairShares(10, []), []);
});

/** Admissions of a throttle asked `asks` times per simulated second for `seconds` seconds. */
function drive(throttle: KeyedThrottle, clock: { now: number }, asks: number, seconds: number): number {
  let admitted = 0;
  for (let s = 0; s < seconds; s++) {
    clock.now += 1000;
    for (let i = 0; i < asks; i++) if (throttle.admit(`d${i}`) !== undefined) admitted++;
  }
  return admitted;
}

async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-hub-share-'));
  const store = await PgliteStore.open({ directory: dir });
  try {
    await migrate(store);
    await fn(store);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const silent = pino({ level: 'silent' });

test('two nodes sharing one store split a hub-wide limit by demand and together stay within it', async () => {
  await withStore(async (store) => {
    const clock = { now: 1_000_000 };
    const now = () => clock.now;
    // No shaping window: whatever is over the share is refused at once, so admissions measure the share exactly.
    const a = new KeyedThrottle(undefined, { ratePerSecond: 100 }, 0, now);
    const b = new KeyedThrottle(undefined, { ratePerSecond: 100 }, 0, now);
    const nodeA = new HubShare({ store, nodeId: 'node-a', limits: [{ name: 'd2c', throttle: a }], logger: silent, clock: now });
    const nodeB = new HubShare({ store, nodeId: 'node-b', limits: [{ name: 'd2c', throttle: b }], logger: silent, clock: now });
    // A node reads the others' demand as they last wrote it, so it takes two rounds for everyone to see everyone.
    for (let round = 0; round < 2; round++) {
      await nodeA.tick();
      await nodeB.tick();
    }
    near(nodeA.shares.get('d2c')! + nodeB.shares.get('d2c')!, 100, 'shares of two idle nodes');

    // A is asked 150/s, B 10/s; the renegotiations follow the demand.
    for (let round = 0; round < 2; round++) {
      drive(a, clock, 150, 2);
      drive(b, clock, 10, 2);
      await nodeA.tick();
      await nodeB.tick();
    }
    const shareA = nodeA.shares.get('d2c')!;
    const shareB = nodeB.shares.get('d2c')!;
    assert.ok(shareA > 80 && shareB < 20, `A ${shareA}, B ${shareB}`);
    assert.ok(Math.abs(shareA + shareB - 100) < 5, `the shares add up to about the limit: ${shareA + shareB}`);

    // Both now asked 150/s for 10 s: together they admit about 10 × 100 (plus one burst each), not 2 × 10 × 100.
    const admitted = drive(a, clock, 150, 10) + drive(b, clock, 150, 10);
    assert.ok(admitted <= 100 * 10 + shareA + shareB + 2, `admitted ${admitted}`);
    assert.ok(admitted >= 100 * 10 * 0.9, `admitted ${admitted}`);
  });
});

test('a node that stops renegotiating drops out of the split; one that stops cleanly removes itself', async () => {
  await withStore(async (store) => {
    const now = Date.now;
    const throttles = ['a', 'b', 'c'].map(() => new KeyedThrottle(undefined, { ratePerSecond: 90 }, 0, now));
    const nodes = ['a', 'b', 'c'].map((id, i) =>
      new HubShare({ store, nodeId: `node-${id}`, limits: [{ name: 'connect', throttle: throttles[i]! }], logger: silent, staleMs: 400 }));
    for (let round = 0; round < 2; round++) for (const n of nodes) await n.tick();
    near(nodes[0]!.shares.get('connect')!, 30, 'three nodes');

    // c goes silent (crashed): once its row is older than staleMs, a and b split the limit between them.
    await new Promise((r) => setTimeout(r, 600));
    await nodes[0]!.tick();
    await nodes[1]!.tick();
    near(nodes[1]!.shares.get('connect')!, 45, 'c is no longer counted');

    await nodes[1]!.stop();
    await nodes[0]!.tick();
    near(nodes[0]!.shares.get('connect')!, 90, 'b removed its row on stop');
    const rows = await store.query<{ node_id: string }>('SELECT node_id FROM ingest_nodes ORDER BY node_id');
    assert.deepEqual(rows.map((r) => r.node_id), ['node-a', 'node-c'], 'the stale row stays until it is long gone');
  });
});
