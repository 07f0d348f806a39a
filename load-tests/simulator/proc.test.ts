import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuSeconds, openFilesLimit, parseStatusKiB, rssKiB } from './proc.ts';

test('parseStatusKiB reads a kB line of /proc/<pid>/status', () => {
  const status = 'Name:\tmosquitto\nVmPeak:\t  12000 kB\nVmRSS:\t    5804 kB\nThreads:\t1\n';
  assert.equal(parseStatusKiB(status, 'VmRSS'), 5804);
  assert.equal(parseStatusKiB(status, 'VmPeak'), 12000);
  assert.throws(() => parseStatusKiB(status, 'VmSwap'), /no VmSwap/);
});

test('this process: RSS grows when memory is touched, limits and CPU time are readable', () => {
  const before = rssKiB(process.pid);
  const ballast = Buffer.alloc(64 * 1024 * 1024, 1); // touched pages count in RSS
  const after = rssKiB(process.pid);
  assert.ok(after - before >= 32 * 1024, `RSS ${before} → ${after} KiB after touching 64 MiB`);
  assert.equal(ballast[ballast.length - 1], 1);
  const limits = openFilesLimit();
  assert.ok(limits.soft > 0 && limits.soft <= limits.hard);
  assert.ok(cpuSeconds(process.pid) >= 0);
});
