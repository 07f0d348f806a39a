import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeReport } from './fixture.ts';
import { validateScenario } from '../simulator/scenario.ts';
import { describeLoad, externalReferences, renderHtml } from './html.ts';
import { esc, lineChart, niceTicks } from './svg.ts';

test('the report is one self-contained HTML file with inline SVG plots', () => {
  const html = renderHtml(fakeReport());
  assert.match(html, /^<!doctype html>/);
  assert.deepEqual(externalReferences(html), []);
  const svgs = html.match(/<svg\b/g) ?? [];
  assert.ok(svgs.length >= 5, `${svgs.length} plots`);
  for (const title of ['Throughput over time', 'Latency by percentile', 'Memory over time']) assert.ok(html.includes(title), title);
  assert.ok(html.includes('<polyline'), 'plots have lines');
});

test('text from the run is escaped', () => {
  const html = renderHtml(fakeReport({ description: '<script>alert(1)</script> & "x"', errors: { 'connack:<5>': 2 } }));
  assert.ok(!html.includes('<script>alert'));
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;'));
  assert.ok(html.includes('connack:&lt;5&gt;'));
  assert.equal(esc(`'`), '&#39;');
});

test('an empty series says so instead of drawing nonsense', () => {
  const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', color: '#000', points: [] }] });
  assert.match(svg, /no data/);
});

test('nice ticks are 1, 2 or 5 × 10^k and cover the range', () => {
  assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0, 0.9, 3), [0, 0.5, 1]);
  const t = niceTicks(0, 12_345);
  assert.ok(t[0] === 0 && t.at(-1)! >= 10_000);
  assert.deepEqual(niceTicks(3, 3), [3]);
});

test('the load as run is described from the scenario, overrides included', () => {
  const paced = validateScenario({ devices: 2000, durationSeconds: 330, messageRate: 10_000, rampSeconds: 30, authMix: { sas: 3, x509: 1 }, protocol: 'mqtt-ws' });
  assert.equal(describeLoad(paced), '2,000 devices, 330 s, 10,000 msg/s after a 30 s ramp, QoS 1, 100 B, mqtt-ws, X.509 share 25 %, in-flight 10, 2 workers, connect 500/s');
  assert.match(describeLoad(validateScenario({ devices: 3, messages: 60 })), /^3 devices, 60 messages, as fast as acks allow, QoS 1, 100 B, mqtt, SAS/);
  assert.match(describeLoad(validateScenario({ mode: 'idle', devices: 5 })), /^5 devices, idle, QoS/);
});

test('a --split run: CPU and memory plotted per hub process, and the lag each group started with', () => {
  const r = fakeReport();
  r.timeline = r.timeline.map((p, i) => ({
    ...p,
    hubs: { 'hub:ingest': { rssKiB: 100_000 + i, cores: 0.7 }, 'hub:processors': { rssKiB: 90_000, cores: 0.4 }, 'hub:connectors': { rssKiB: 80_000, cores: 0.1 } },
  }));
  r.environment.hubProcesses = ['ingest', 'processors', 'connectors'].map((g, i) => ({ name: `hub:${g}`, pid: 100 + i, roles: g, log: `/tmp/x.hub-${g}.log` }));
  r.lag = { max: { 'tributary-processor-enrich': 50 }, end: { 'tributary-processor-enrich': 0 }, start: { 'tributary-processor-enrich': { behind: 2_500_000, action: 'reset', members: 0 } } };
  const html = renderHtml(r);
  const cpu = html.slice(html.indexOf('CPU over time'), html.indexOf('Open connections'));
  for (const name of ['hub:ingest', 'hub:processors', 'hub:connectors', 'generator']) assert.ok(cpu.includes(`>${name}<`), `CPU series ${name}`);
  assert.equal((cpu.match(/<polyline/g) ?? []).length, 4, 'three hub processes and the generator');
  const memory = html.slice(html.indexOf('Memory over time'), html.indexOf('CPU over time'));
  assert.ok(memory.includes('>hub:processors<'));
  assert.ok(html.includes('/tmp/x.hub-processors.log'), 'each process and its log are named');
  assert.ok(html.includes('2,500,000 (skipped)'), 'the backlog skipped before the run');
  assert.deepEqual(externalReferences(html), []);
});
