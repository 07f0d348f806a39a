import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TributaryError } from '../../core/errors/index.ts';
import { parseBenchOptions } from '../harness/bench-options.ts';
import { fitToFileLimit } from '../harness/run-bench.ts';
import { validateScenario } from '../simulator/scenario.ts';
import { SCENARIOS } from './index.ts';

test('the built-in scenarios are there and every one validates', () => {
  assert.deepEqual(Object.keys(SCENARIOS).sort(), ['connections', 'smoke', 'soak', 'steady-10k', 'throughput']);
  for (const s of Object.values(SCENARIOS)) {
    assert.ok(s.description.length > 20, s.name);
    assert.doesNotThrow(() => validateScenario(s.load), s.name);
  }
});

test('what each scenario promises', () => {
  const smoke = validateScenario(SCENARIOS.smoke!.load);
  assert.ok(smoke.devices <= 20 && smoke.messages! <= 1000, 'smoke is seconds of load');
  const steady = validateScenario(SCENARIOS['steady-10k']!.load);
  assert.equal(steady.messageRate, 10_000);
  assert.equal(steady.durationSeconds! - steady.rampSeconds, 300, '5 minutes at the full rate after the ramp');
  const throughput = SCENARIOS.throughput!;
  assert.equal(throughput.mosquittoBaseline, true);
  assert.equal(validateScenario(throughput.load).messageRate, undefined, 'as fast as acks allow');
  assert.equal(validateScenario(throughput.load).qos, 1);
  assert.equal(validateScenario(SCENARIOS.connections!.load).mode, 'idle');
});

test('command-line options override the scenario field by field', () => {
  const o = parseBenchOptions('smoke', ['--devices', '3', '--messages', '60', '--x509', '0.25', '--protocol', 'mqtt-ws', '--out', '/tmp/x'], {});
  assert.equal(o.load.devices, 3);
  assert.equal(o.load.messages, 60);
  assert.deepEqual(o.load.authMix, { sas: 0.75, x509: 0.25 });
  assert.equal(o.load.protocol, 'mqtt-ws');
  assert.equal(o.load.inFlight, SCENARIOS.smoke!.load.inFlight, 'untouched fields keep the scenario\'s value');
  assert.equal(o.outDir, '/tmp/x');
  assert.equal(o.mosquitto, undefined, 'smoke has no Mosquitto run');
  // A duration given replaces the scenario's message count (and the other way round).
  const d = parseBenchOptions('smoke', ['--duration', '5', '--rate', '100'], {});
  assert.equal(d.load.messages, undefined);
  assert.equal(d.load.durationSeconds, 5);
  assert.equal(parseBenchOptions('throughput', [], {}).mosquitto, '127.0.0.1:1883');
  assert.equal(parseBenchOptions('throughput', ['--no-mosquitto'], {}).mosquitto, undefined);
  assert.equal(parseBenchOptions('smoke', [], { TRIBUTARY_CLICKHOUSE_URL: 'http://127.0.0.1:8123' }).clickhouseUrl, 'http://127.0.0.1:8123');
});

test('idle scenarios spread over loopback source addresses', () => {
  const o = parseBenchOptions('connections', ['--devices', '50000'], {});
  assert.deepEqual(o.load.localAddresses, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
});

test('bad options fail before anything starts, saying what is wrong', () => {
  assert.throws(() => parseBenchOptions('nope', [], {}), (e: unknown) => e instanceof TributaryError && /unknown scenario "nope"; built in: smoke/.test(e.message));
  assert.throws(() => parseBenchOptions('smoke', ['--devices', 'many'], {}), /--devices: expected a number/);
  assert.throws(() => parseBenchOptions('smoke', ['--x509', '2'], {}), /share of X\.509 devices, 0 to 1/);
  assert.throws(() => parseBenchOptions('smoke', ['--qos', '2'], {}), /qos/);
  assert.throws(() => parseBenchOptions('smoke', ['--bogus'], {}), /usage: tributary bench/);
});

test('connections fits the device count to the open-file limit, with a note', () => {
  const load = validateScenario({ ...SCENARIOS.connections!.load });
  const fitted = fitToFileLimit(load, 65_536);
  assert.equal(fitted.load.devices, 65_236);
  assert.match(fitted.note!, /capped at 65236 by the open-file limit/);
  assert.equal(fitted.load.localAddresses!.length, 4);
  assert.equal(fitToFileLimit(load, 1_048_576).note, undefined);
  assert.throws(() => fitToFileLimit(load, 200), /ulimit -n/);
});
