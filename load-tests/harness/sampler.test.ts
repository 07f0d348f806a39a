import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BenchHub } from './bench-hub.ts';
import type { HubSample } from './hub-child.ts';
import { Sampler, isHub } from './sampler.ts';

/** A hub whose sample answers only when the test says so, like a saturated hub process over IPC. */
function slowHub() {
  const waiting: Array<(s: HubSample) => void> = [];
  let asked = 0;
  const hub = {
    alive: () => true,
    sample: () => new Promise<HubSample>((resolve) => (asked++, waiting.push(resolve))),
  } as unknown as BenchHub;
  const answer = (unique: number, lag: Record<string, number>) =>
    waiting.shift()!({ arrivals: { unique, duplicates: 0, untimed: 0, byAuth: { sas: unique } }, lag, probeLag: undefined, connections: 3 });
  return { hub, answer, asked: () => asked };
}

test('a hub that answers late does not hold back the per-second CPU and RSS samples of every hub process', async () => {
  const { hub, answer, asked } = slowHub();
  // This process stands in for the three hub processes: /proc has it, and each label gets its own series.
  const sampler = new Sampler(hub, ['hub:ingest', 'hub:processors', 'hub:connectors'].map((name) => ({ name, pid: process.pid })));
  sampler.tick();
  sampler.tick();
  sampler.tick();
  assert.equal(sampler.timeline.length, 3, 'one point per tick while the hub has not answered');
  assert.equal(asked(), 1, 'one request in flight at a time');
  for (const p of sampler.timeline) {
    assert.deepEqual(Object.keys(p.hubs ?? {}), ['hub:ingest', 'hub:processors', 'hub:connectors']);
    const parts = Object.values(p.hubs!);
    assert.equal(p.hubRssKiB, parts.reduce((sum, h) => sum + h.rssKiB, 0), 'the hub total is the sum of its processes');
    assert.equal(p.lag, undefined);
  }
  answer(40, { 'tributary-processor-enrich': 7, 'tributary-processor-router': 2 });
  await new Promise((r) => setImmediate(r));
  assert.equal(sampler.unique, 40);
  sampler.tick(); // lands in this interval
  assert.equal(sampler.timeline.at(-1)!.arrived, 40);
  assert.equal(sampler.timeline.at(-1)!.lag, 9);
  // flush waits for the answer in flight and one more.
  const flushed = sampler.flush();
  answer(2, { 'tributary-processor-enrich': 5, 'tributary-processor-router': 0 });
  await new Promise((r) => setImmediate(r));
  answer(1, { 'tributary-processor-enrich': 0, 'tributary-processor-router': 0 });
  await flushed;
  assert.equal(sampler.unique, 43);
  assert.equal(sampler.timeline.at(-1)!.arrived, 43);
  assert.deepEqual(sampler.lagMax, { 'tributary-processor-enrich': 7, 'tributary-processor-router': 2 });
  assert.deepEqual(sampler.lagEnd, { 'tributary-processor-enrich': 0, 'tributary-processor-router': 0 });
  assert.deepEqual(sampler.processes().map((p) => p.name), ['generator', 'hub:ingest', 'hub:processors', 'hub:connectors']);
});

test('hub processes by name', () => {
  assert.ok(isHub('hub') && isHub('hub:ingest'));
  assert.ok(!isHub('generator') && !isHub('hubris') && !isHub('kafka'));
});
