import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TributaryError } from '../../core/errors/index.ts';
import { deviceId, isLoopbackV4, partition, validateScenario } from './scenario.ts';

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
