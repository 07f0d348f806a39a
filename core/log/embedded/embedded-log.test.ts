import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLogContractSuite } from '../contract-suite.ts';
import { EmbeddedLog, type EmbeddedLogOptions } from './embedded-log.ts';
import type { LogRecord } from '../types.ts';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-embedded-log-'));
  dirs.push(dir);
  return dir;
}

const contractDir = await tempDir();
runLogContractSuite('EmbeddedLog', {
  open: () => EmbeddedLog.open({ dataDir: contractDir, retryBackoffMs: 20 }),
});

/** Reads every record of a topic from the beginning through a throwaway group, then stops. */
async function readAll(log: EmbeddedLog, topic: string, expected: number): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  const consumer = log.consumer({ groupId: `read-all-${Math.random()}`, topics: [topic], fromBeginning: true });
  await consumer.start(async (batch) => {
    records.push(...batch.records);
  });
  const deadline = Date.now() + 30_000;
  while (records.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await consumer.stop();
  return records;
}

async function withLog<T>(options: EmbeddedLogOptions, fn: (log: EmbeddedLog) => Promise<T>): Promise<T> {
  const log = await EmbeddedLog.open(options);
  try {
    return await fn(log);
  } finally {
    await log.close();
  }
}

const segmentFile = (dataDir: string, topic: string) => join(dataDir, 'log', topic, '0', '00000000000000000000.log');

describe('EmbeddedLog', () => {
  test('a torn partial frame at the tail is truncated on open and the log continues after it', async () => {
    const dataDir = await tempDir();
    await withLog({ dataDir }, async (log) => {
      await log.createTopics([{ name: 't', partitions: 1 }]);
      await log.produce('t', Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: `v${i}` })));
    });
    const file = segmentFile(dataDir, 't');
    const intact = (await stat(file)).size;
    // What a crash mid-write leaves: the first bytes of a frame (a plausible length prefix, then nothing).
    await appendFile(file, Buffer.from([0x00, 0x00, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02]));
    await withLog({ dataDir }, async (log) => {
      assert.equal((await stat(file)).size, intact, 'the torn bytes are gone');
      assert.deepEqual(await log.endOffsets('t'), [{ topic: 't', partition: 0, offset: 5 }]);
      const [meta] = await log.produce('t', [{ key: 'k', value: 'after-crash' }]);
      assert.equal(meta!.offset, 5);
      const records = await readAll(log, 't', 6);
      assert.deepEqual(records.map((r) => r.value!.toString()), ['v0', 'v1', 'v2', 'v3', 'v4', 'after-crash']);
      assert.deepEqual(records.map((r) => r.offset), [0, 1, 2, 3, 4, 5]);
    });
  });

  test('a last frame with a bad CRC is dropped (and only it)', async () => {
    const dataDir = await tempDir();
    await withLog({ dataDir }, async (log) => {
      await log.createTopics([{ name: 't', partitions: 1 }]);
      for (let i = 0; i < 3; i++) await log.produce('t', [{ value: `value-${i}` }]);
    });
    const file = segmentFile(dataDir, 't');
    const bytes = await readFile(file);
    bytes[bytes.length - 3]! ^= 0xff; // flip a bit inside the last record's value
    await writeFile(file, bytes);
    await withLog({ dataDir }, async (log) => {
      assert.deepEqual(await log.endOffsets('t'), [{ topic: 't', partition: 0, offset: 2 }]);
      const records = await readAll(log, 't', 2);
      assert.deepEqual(records.map((r) => r.value!.toString()), ['value-0', 'value-1']);
    });
  });

  test('records, topics and committed offsets survive a restart; segments roll and are read across', async () => {
    const dataDir = await tempDir();
    await withLog({ dataDir, segmentBytes: 2048 }, async (log) => {
      await log.createTopics([{ name: 'persist', partitions: 2, config: { 'retention.ms': '-1' } }]);
      for (let i = 0; i < 100; i++) await log.produce('persist', [{ key: `k${i % 3}`, value: `value-${i}` }]);
      assert.ok(log.stats('persist').some((s) => s.segments > 2), 'small segment.bytes rolls segments');
      let committed = false;
      const consumer = log.consumer({ groupId: 'g', topics: ['persist'], fromBeginning: true });
      await consumer.start(async (batch) => {
        await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: 7 }]);
        committed = true;
      });
      while (!committed) await new Promise((r) => setTimeout(r, 10));
      await consumer.stop();
    });
    await withLog({ dataDir, segmentBytes: 2048 }, async (log) => {
      assert.deepEqual(await log.describeTopic('persist'), { name: 'persist', partitions: 2 });
      const committed = await log.committedOffsets('g', 'persist');
      assert.ok(committed.length >= 1 && committed.every((c) => c.offset === 7), JSON.stringify(committed));
      const ends = await log.endOffsets('persist');
      assert.equal(ends.reduce((n, e) => n + e.offset, 0), 100);
      const records = await readAll(log, 'persist', 100);
      assert.equal(records.length, 100);
      const values = records.map((r) => Number(r.value!.toString().slice(6))).sort((a, b) => a - b);
      assert.deepEqual(values, Array.from({ length: 100 }, (_, i) => i));
      for (const p of [0, 1]) {
        const offsets = records.filter((r) => r.partition === p).map((r) => r.offset);
        assert.deepEqual(offsets, Array.from({ length: offsets.length }, (_, i) => i), `partition ${p} in order across segments`);
      }
    });
    // The committed-offset file is a whole JSON document (written via rename), and nothing half-written is left.
    const groupFiles = await readdir(join(dataDir, 'groups'));
    assert.equal(groupFiles.filter((f) => f.endsWith('.tmp')).length, 0);
    assert.equal(JSON.parse(await readFile(join(dataDir, 'groups', groupFiles[0]!), 'utf8')).groupId, 'g');
  });

  test('retention.bytes deletes whole old segments, never the active one; consumers reset to the new start', async () => {
    const dataDir = await tempDir();
    await withLog({ dataDir }, async (log) => {
      await log.createTopics([{ name: 'r', partitions: 1, config: { 'segment.bytes': '1024', 'retention.bytes': '3000' } }]);
      for (let i = 0; i < 200; i++) await log.produce('r', [{ value: `record-${String(i).padStart(4, '0')}` }]);
      await log.enforceRetention();
      const [{ offset: start }] = (await log.startOffsets('r')) as unknown as [{ offset: number }];
      const [stats] = log.stats('r');
      assert.ok(start > 0, 'old segments were deleted');
      assert.ok(stats!.sizeBytes >= 3000 - 1024 && stats!.sizeBytes <= 3000 + 1024, `size ${stats!.sizeBytes} near retention.bytes`);
      const files = await readdir(join(dataDir, 'log', 'r', '0'));
      assert.equal(files.length, stats!.segments);
      assert.equal(files.sort()[0], `${String(start).padStart(20, '0')}.log`, 'the oldest remaining file starts at the start offset');
      const records = await readAll(log, 'r', 200 - start);
      assert.equal(records[0]!.offset, start);
      assert.equal(records.at(-1)!.offset, 199);
    });
  });

  test('retention.ms deletes segments whose newest record is older than the limit', async () => {
    const dataDir = await tempDir();
    await withLog({ dataDir }, async (log) => {
      await log.createTopics([{ name: 'old', partitions: 1, config: { 'segment.bytes': '1024', 'retention.ms': String(3600_000) } }]);
      const old = Date.now() - 2 * 3600_000;
      for (let i = 0; i < 60; i++) await log.produce('old', [{ value: `old-${i}`, timestamp: old + i }]);
      const firstNew = (await log.produce('old', [{ value: 'new-0' }]))[0]!.offset;
      for (let i = 1; i < 40; i++) await log.produce('old', [{ value: `new-${i}` }]);
      // Retention also runs on every segment roll, so the old segments may already be gone before this call.
      await log.enforceRetention();
      const [{ offset: start }] = (await log.startOffsets('old')) as unknown as [{ offset: number }];
      assert.ok(start > 0, `start offset ${start} moved past the expired segments`);
      assert.ok(start <= firstNew, 'no segment holding a recent record is deleted');
      const kept = await readAll(log, 'old', 100 - start);
      assert.ok(kept.filter((r) => r.value!.toString().startsWith('new-')).length === 40);
    });
  });

  test('a committed offset that retention has passed resets to the oldest record (fromBeginning)', async () => {
    const dataDir = await tempDir();
    await withLog({ dataDir }, async (log) => {
      await log.createTopics([{ name: 'gone', partitions: 1, config: { 'segment.bytes': '512', 'retention.bytes': '1024' } }]);
      // The group has committed offset 0 (embedded commits are accepted from a member that already stopped).
      const first = log.consumer({ groupId: 'g', topics: ['gone'], fromBeginning: true });
      await first.start(async () => undefined);
      await first.stop();
      await first.commit([{ topic: 'gone', partition: 0, offset: 0 }]);
      for (let i = 0; i < 100; i++) await log.produce('gone', [{ value: `x${i}` }]);
      await log.enforceRetention();
      const [{ offset: start }] = (await log.startOffsets('gone')) as unknown as [{ offset: number }];
      assert.ok(start > 0);
      const seen: number[] = [];
      const consumer = log.consumer({ groupId: 'g', topics: ['gone'], fromBeginning: true });
      await consumer.start(async (batch) => {
        seen.push(...batch.records.map((r) => r.offset));
      });
      while (seen.length < 100 - start) await new Promise((r) => setTimeout(r, 10));
      await consumer.stop();
      assert.equal(seen[0], start);
    });
  });

  test('concurrent produce calls share writes (group commit) and get distinct, ordered offsets', async () => {
    const dataDir = await tempDir();
    await withLog({ dataDir }, async (log) => {
      await log.createTopics([{ name: 'gc', partitions: 1 }]);
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => log.produce('gc', [{ value: `c${i}` }])));
      const offsets = results.map((r) => r[0]!.offset);
      // Calls issued in order get offsets in that order.
      assert.deepEqual(offsets, Array.from({ length: 200 }, (_, i) => i));
      const [stats] = log.stats('gc');
      assert.ok(stats!.flushes < 200, `${stats!.flushes} flushes for 200 calls`);
    });
  });

  test('rejects records over max.message.bytes, bad partitions, and a second open of the same data dir', async () => {
    const dataDir = await tempDir();
    await withLog({ dataDir }, async (log) => {
      await log.createTopics([{ name: 'limits', partitions: 2, config: { 'max.message.bytes': '1000' } }]);
      await assert.rejects(log.produce('limits', [{ value: Buffer.alloc(2000) }]), { code: 'RecordTooLarge' });
      await assert.rejects(log.produce('limits', [{ value: 'x', partition: 2 }]), { code: 'ArgumentInvalid' });
      await assert.rejects(log.produce('missing', [{ value: 'x' }]), { code: 'TopicNotFound' });
      await assert.rejects(log.createTopics([{ name: '../escape', partitions: 1 }]), { code: 'ArgumentInvalid' });
      await assert.rejects(EmbeddedLog.open({ dataDir }), { code: 'LogUnavailable' });
      assert.deepEqual(await log.endOffsets('limits'), [
        { topic: 'limits', partition: 0, offset: 0 },
        { topic: 'limits', partition: 1, offset: 0 },
      ]);
    });
    const reopened = await EmbeddedLog.open({ dataDir });
    await reopened.close();
    await assert.rejects(reopened.produce('limits', [{ value: 'x' }]), { code: 'LogClosed' });
  });

  test('deleteTopics removes files and committed offsets, so a re-created topic starts clean', async () => {
    const dataDir = await tempDir();
    await withLog({ dataDir }, async (log) => {
      await log.createTopics([{ name: 'd', partitions: 1 }]);
      await log.produce('d', [{ value: 'a' }]);
      const consumer = log.consumer({ groupId: 'g', topics: ['d'], fromBeginning: true });
      await consumer.start(async (batch) => consumer.commit([{ topic: 'd', partition: 0, offset: batch.nextOffset }]));
      while ((await log.committedOffsets('g', 'd')).length === 0) await new Promise((r) => setTimeout(r, 10));
      await log.deleteTopics(['d']);
      assert.deepEqual(consumer.assignment(), [], 'the deleted topic was revoked');
      await consumer.stop();
      assert.deepEqual(await log.listTopics(), []);
      await assert.rejects(readdir(join(dataDir, 'log', 'd')));
      await log.createTopics([{ name: 'd', partitions: 1 }]);
      assert.deepEqual(await log.endOffsets('d'), [{ topic: 'd', partition: 0, offset: 0 }]);
      assert.deepEqual(await log.committedOffsets('g', 'd'), []);
    });
  });

  test('stop() called from inside the handler does not deadlock', async () => {
    const dataDir = await tempDir();
    await withLog({ dataDir }, async (log) => {
      await log.createTopics([{ name: 's', partitions: 1 }]);
      await log.produce('s', [{ value: 'a' }]);
      let stopped: Promise<void> | undefined;
      const consumer = log.consumer({ groupId: 'g', topics: ['s'], fromBeginning: true });
      await consumer.start(async () => {
        stopped = consumer.stop();
        await stopped;
      });
      while (!stopped) await new Promise((r) => setTimeout(r, 10));
      await stopped;
      assert.deepEqual(consumer.assignment(), []);
    });
  });
});
