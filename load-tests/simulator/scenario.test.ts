import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TributaryError } from '../../core/errors/index.ts';
import { deviceId, isLoopbackV4, partition, usesX509, validateScenario } from './scenario.ts';

function problemsOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TributaryError, `expected a TributaryError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected the scenario to be refused');
}

describe('validateScenario', () => {
  test('fills defaults around what is given', () => {
    const s = validateScenario({ devices: 7, durationSeconds: 3 });
    assert.equal(s.devices, 7);
    assert.equal(s.durationSeconds, 3);
    assert.equal(s.qos, 1);
    assert.equal(s.inFlight, 10);
    assert.equal(s.payloadBytes, 100);
    assert.equal(s.mode, 'telemetry');
    assert.equal(s.messages, undefined);
  });

  test('caps workers at the number of devices', () => {
    assert.equal(validateScenario({ devices: 3, workers: 8, messages: 30 }).workers, 3);
    assert.equal(validateScenario({ devices: 30, workers: 4, messages: 30 }).workers, 4);
  });

  test('a telemetry scenario needs exactly one of duration and message count', () => {
    assert.match(problemsOf(() => validateScenario({ devices: 1 })), /exactly one/);
    assert.match(problemsOf(() => validateScenario({ devices: 1, durationSeconds: 1, messages: 5 })), /exactly one/);
    assert.doesNotThrow(() => validateScenario({ mode: 'idle', devices: 1 }));
  });

  test('reports fields by path, all at once', () => {
    const message = problemsOf(() => validateScenario({ devices: 0, qos: 2 as 1, inFlight: 0, durationSeconds: 1 }));
    assert.match(message, /devices/);
    assert.match(message, /qos/);
    assert.match(message, /inFlight/);
  });

  test('refuses a message budget smaller than the fleet', () => {
    assert.match(problemsOf(() => validateScenario({ devices: 10, messages: 9 })), /fewer than the 10 devices/);
  });

  test('source addresses must be IPv4 loopback', () => {
    assert.match(problemsOf(() => validateScenario({ mode: 'idle', localAddresses: ['127.0.0.2', '10.0.0.1'] })), /localAddresses\[1\]: 10\.0\.0\.1/);
    assert.equal(validateScenario({ mode: 'idle', localAddresses: ['127.0.0.2', '127.1.2.3'] }).localAddresses?.length, 2);
  });
});

test('isLoopbackV4 accepts 127.0.0.0/8 only', () => {
  assert.ok(isLoopbackV4('127.0.0.1'));
  assert.ok(isLoopbackV4('127.255.255.254'));
  assert.ok(!isLoopbackV4('127.0.0.256'));
  assert.ok(!isLoopbackV4('128.0.0.1'));
  assert.ok(!isLoopbackV4('::1'));
  assert.ok(!isLoopbackV4('127.0.0.1.5'));
});

test('partition splits into contiguous slices differing by at most one', () => {
  const slices = partition(10, 3);
  assert.deepEqual(slices, [{ start: 0, end: 4 }, { start: 4, end: 7 }, { start: 7, end: 10 }]);
  for (const [total, parts] of [[1, 1], [5, 5], [1000, 7], [3, 2]] as const) {
    const s = partition(total, parts);
    assert.equal(s.length, parts);
    assert.equal(s.at(-1)!.end, total);
    s.forEach((x, i) => i > 0 && assert.equal(x.start, s[i - 1]!.end));
    const sizes = s.map((x) => x.end - x.start);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
  }
});

test('device ids are prefix plus zero-padded index', () => {
  assert.equal(deviceId({ deviceIdPrefix: 'sim' }, 42), 'sim-000042');
});

test('usesX509 spreads the X.509 share evenly over the device indexes', () => {
  const count = (mix: { sas: number; x509: number }, n: number) => Array.from({ length: n }, (_, i) => usesX509(mix, i)).filter(Boolean).length;
  assert.equal(count({ sas: 1, x509: 0 }, 1000), 0);
  assert.equal(count({ sas: 0, x509: 1 }, 1000), 1000);
  assert.equal(count({ sas: 3, x509: 1 }, 1000), 250);
  assert.equal(count({ sas: 1, x509: 1 }, 10), 5);
  // Evenly: every window of 4 consecutive devices in a 1:3 mix holds exactly one X.509 device.
  for (let start = 0; start < 100; start += 4) assert.equal([0, 1, 2, 3].filter((k) => usesX509({ sas: 3, x509: 1 }, start + k)).length, 1);
});

test('rate, ramp, protocol and auth mix: defaults and the rules between them', () => {
  const s = validateScenario({ devices: 2, messages: 10 });
  assert.equal(s.protocol, 'mqtt');
  assert.deepEqual(s.authMix, { sas: 1, x509: 0 });
  assert.equal(s.rampSeconds, 0);
  assert.equal(s.messageRate, undefined);
  assert.match(problemsOf(() => validateScenario({ devices: 2, messages: 10, rampSeconds: 5 })), /rampSeconds: a ramp needs a messageRate/);
  assert.match(problemsOf(() => validateScenario({ devices: 2, messages: 10, authMix: { sas: 0, x509: 0 } })), /authMix/);
  assert.match(problemsOf(() => validateScenario({ devices: 2, messages: 10, protocol: 'amqp' as 'mqtt' })), /protocol/);
});
