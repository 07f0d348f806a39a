import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TributaryError } from '../core/errors/index.ts';
import { checkFileLimits, defaultConnections, memoryVerdict, parseSmapsRss, sourceAddresses } from './connections.bench.ts';

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

test('smaps RSS is split into the brk heap, anonymous and file-backed mappings', () => {
  const smaps = [
    '55d0c0000000-55d0c4000000 rw-p 00000000 00:00 0                          [heap]',
    'Size:              65536 kB',
    'Rss:               40000 kB',
    '7f0000000000-7f0000040000 rw-p 00000000 00:00 0 ',
    'Rss:                 256 kB',
    '7f0000100000-7f0000200000 r-xp 00000000 08:01 1234                       /usr/bin/node',
    'Rss:                 900 kB',
    '7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]',
    'Rss:                  12 kB',
    '7f0000300000-7f0000340000 rw-p 00000000 00:00 0                          [anon:v8]',
    'Rss:                 100 kB',
  ].join('\n');
  assert.deepEqual(parseSmapsRss(smaps), { brkKiB: 40_000, anonymousKiB: 356, fileKiB: 912 });
});
