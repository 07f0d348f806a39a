/**
 * The simulator end to end against the pre-started Mosquitto (127.0.0.1:1883): a message-count run must account for
 * every message exactly, across worker threads. Counts only; no timing assertions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'mqtt';
import { runScenario } from './runner.ts';
import { validateScenario } from './scenario.ts';
import type { MqttTarget } from './target.ts';

const target: MqttTarget = { kind: 'mqtt', name: 'mosquitto', host: '127.0.0.1', port: 1883, topicPrefix: `tributary-test-${process.pid}-${Date.now()}` };

test('a message-count run sends, acknowledges and measures exactly N messages over several workers', async () => {
  // A subscriber counts what actually reached the broker, independently of the simulator's own bookkeeping.
  const sub = connect({ host: '127.0.0.1', port: 1883, protocolVersion: 4, clean: true });
  await new Promise<void>((resolve, reject) => sub.once('connect', () => resolve()).once('error', reject));
  const seen = new Map<string, number>();
  sub.on('message', (topic) => seen.set(topic, (seen.get(topic) ?? 0) + 1));
  await sub.subscribeAsync(`${target.topicPrefix}/#`, { qos: 1 });
  try {
    const scenario = validateScenario({ name: 'count', devices: 6, workers: 3, messages: 600, inFlight: 4, deviceIdPrefix: 'count' });
    const result = await runScenario(scenario, target);
    assert.equal(result.interrupted, false);
    assert.equal(result.connected, 6);
    assert.equal(result.connectFailures, 0);
    assert.equal(result.sent, 600);
    assert.equal(result.acked, 600);
    assert.equal(result.failed, 0);
    assert.equal(result.unacked, 0);
    assert.equal(result.latency.count, 600);
    assert.deepEqual(result.errors, {});
    // QoS 1 to the subscriber: wait until all 600 arrived (or fail by the test timeout).
    for (let i = 0; i < 200 && [...seen.values()].reduce((a, b) => a + b, 0) < 600; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal([...seen.values()].reduce((a, b) => a + b, 0), 600);
    assert.equal(seen.size, 6, 'one topic per device');
  } finally {
    await sub.endAsync();
  }
});

test('an idle run holds every connection open until released, then closes them', async () => {
  const scenario = validateScenario({ name: 'idle', mode: 'idle', devices: 20, workers: 2, deviceIdPrefix: 'idle-test', localAddresses: ['127.0.0.2', '127.0.0.3'] });
  let openWhileHeld = -1;
  const result = await runScenario(scenario, target, { hold: async (totals) => void (openWhileHeld = totals.open) });
  assert.equal(openWhileHeld, 20);
  assert.equal(result.connected, 20);
  assert.equal(result.sent, 0);
});

test('a connection refused is counted by code, not thrown', async () => {
  const scenario = validateScenario({ name: 'refused', mode: 'idle', devices: 3, workers: 1, connectTimeoutMs: 2000 });
  const result = await runScenario(scenario, { kind: 'mqtt', name: 'nothing', host: '127.0.0.1', port: 1 });
  assert.equal(result.connected, 0);
  assert.equal(result.connectFailures, 3);
  assert.deepEqual(result.errors, { 'connect:ECONNREFUSED': 3 });
});
