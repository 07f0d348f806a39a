import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TributaryError } from '../core/errors/index.ts';
import { checkFileLimits, defaultConnections, memoryVerdict, sourceAddresses } from './connections.bench.ts';

test('defaults to 10,000 connections, 1,000 under CI', () => {
  assert.equal(defaultConnections({}), 10_000);
  assert.equal(defaultConnections({ CI: 'true' }), 1_000);
  assert.equal(defaultConnections({ CI: 'false' }), 10_000);
});

test('source addresses: loopback from 127.0.0.2, enough for the connections, at least two', () => {
  assert.deepEqual(sourceAddresses(1000), ['127.0.0.2', '127.0.0.3']);
  assert.equal(sourceAddresses(100_000).length, 5);
  assert.deepEqual(sourceAddresses(10, 3), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  assert.throws(() => sourceAddresses(10, 251), TributaryError);
});

test('file limits: refuses when this process cannot hold the sockets, warns about the server', () => {
  assert.throws(() => checkFileLimits(10_000, 4096, undefined, 'x'), /ulimit -n/);
  assert.deepEqual(checkFileLimits(10_000, 20_000, 20_000, 'mosquitto'), []);
  const warnings = checkFileLimits(10_000, 20_000, 1024, 'mosquitto');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /mosquitto may open only 1024/);
});

test('the memory verdict needs most connections open and a positive growth', () => {
  assert.match(memoryVerdict(12, 10_000, 10_000), /: met/);
  assert.match(memoryVerdict(19.6, 10_000, 10_000), /: NOT met/); // 19.6 KiB = 20.07 kB
  assert.match(memoryVerdict(5, 1_609, 10_000), /inconclusive \(1609 of 10000/);
  assert.match(memoryVerdict(-44, 10_000, 10_000), /inconclusive/);
});
