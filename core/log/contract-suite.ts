/**
 * The Log contract suite (DESIGN.md §4): every Log implementation runs it — EmbeddedLog in
 * core/log/embedded/embedded-log.test.ts, KafkaLog against the real brokers. It uses only the Log interface.
 *
 * Rules that keep it honest on both backends: every test creates its own uniquely named topics and groups, waits
 * with polling helpers and generous timeouts (Kafka group joins and rebalances take seconds) instead of sleeps,
 * asserts on records/offsets/batch shapes rather than on timing, keeps at most one Log open at a time (EmbeddedLog
 * owns its data dir), and closes every Log it opens.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { partitionForKey } from './partitioner.ts';
import type { Consumer, Log, LogRecord, RecordBatch, TopicPartition } from './types.ts';

export interface LogContractHarness {
  /** Opens a Log over the same backing storage on every call (same data dir, or the same Kafka brokers), so a
   *  test can close one instance and open another to simulate a crash/restart. */
  open(): Promise<Log>;
}

/** Generous: a Kafka consumer-group join or rebalance can take several seconds on a busy 2-core machine. */
const WAIT_MS = 60_000;
const TEST_TIMEOUT_MS = 240_000;

const uid = (): string => randomBytes(5).toString('hex');
const names = (label: string) => {
  const id = uid();
  return { topic: `contract-${label}-${id}`, group: `contract-${label}-${id}-g` };
};

/** Polls `predicate` until it holds; fails with `what` after `timeoutMs`. */
async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Opens a Log, runs `fn`, and always closes it (deleting `topics` best-effort so brokers do not fill up). */
async function withLog<T>(harness: LogContractHarness, fn: (log: Log) => Promise<T>, cleanupTopics: string[] = []): Promise<T> {
  const log = await harness.open();
  try {
    return await fn(log);
  } finally {
    if (cleanupTopics.length > 0) await log.deleteTopics(cleanupTopics).catch(() => undefined);
    await log.close();
  }
}

interface Collector {
  records: LogRecord[];
  batches: RecordBatch[];
  handler: (batch: RecordBatch) => Promise<void>;
}

/** A handler that keeps every batch and, with `commit`, commits each batch's nextOffset after "handling" it. */
function collector(getConsumer: () => Consumer | undefined, commit: boolean): Collector {
  const c: Collector = {
    records: [],
    batches: [],
    handler: async (batch) => {
      c.batches.push(batch);
      c.records.push(...batch.records);
      if (commit) await getConsumer()!.commit([{ topic: batch.topic, partition: batch.partition, offset: batch.nextOffset }]);
    },
  };
  return c;
}

/** Starts a consumer with a collecting handler. */
async function startCollecting(log: Log, options: { groupId: string; topics: string[]; fromBeginning?: boolean; maxBatchRecords?: number }, commit: boolean) {
  const holder: { consumer?: Consumer } = {};
  const c = collector(() => holder.consumer, commit);
  const consumer = log.consumer({ fromBeginning: true, ...options });
  holder.consumer = consumer;
  await consumer.start(c.handler);
  return { consumer, ...c };
}

const valueText = (r: LogRecord): string => r.value?.toString('utf8') ?? '<null>';
const tpKey = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;

async function waitForAssignment(consumer: Consumer, count: number): Promise<void> {
  await waitFor(`an assignment of ${count} partitions`, () => consumer.assignment().length === count);
}

export function runLogContractSuite(name: string, harness: LogContractHarness): void {
  describe(`Log contract: ${name}`, { timeout: TEST_TIMEOUT_MS * 14 }, () => {
    test('createTopics is idempotent; describeTopic, listTopics and deleteTopics', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { topic } = names('topics');
      const other = `${topic}-b`;
      await withLog(harness, async (log) => {
        await log.createTopics([{ name: topic, partitions: 3 }]);
        // A second create with a different spec leaves the existing topic as it is (and does not throw).
        await log.createTopics([{ name: topic, partitions: 5 }, { name: other, partitions: 1 }]);
        assert.deepEqual(await log.describeTopic(topic), { name: topic, partitions: 3 });
        assert.deepEqual(await log.describeTopic(other), { name: other, partitions: 1 });
        const listed = await log.listTopics();
        assert.ok(listed.includes(topic) && listed.includes(other), `listTopics includes both: ${listed.join(',')}`);
        await assert.rejects(log.describeTopic(`${topic}-missing`), (err: Error & { code?: string }) => err.code === 'TopicNotFound');
        await log.deleteTopics([other]);
        await waitFor('the deleted topic to leave listTopics', async () => !(await log.listTopics()).includes(other));
        assert.ok((await log.listTopics()).includes(topic), 'the other topic is still there');
      }, [topic, other]);
    });

    test('produce resolves with partition and offset; keys map to partitions as Kafka\'s default partitioner does', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { topic } = names('produce');
      await withLog(harness, async (log) => {
        await log.createTopics([{ name: topic, partitions: 3 }]);
        assert.deepEqual(await log.endOffsets(topic), [0, 1, 2].map((partition) => ({ topic, partition, offset: 0 })));
        const records = Array.from({ length: 30 }, (_, i) => ({ key: `device-${i % 7}`, value: `v${i}` }));
        const metadata = await log.produce(topic, records);
        assert.equal(metadata.length, records.length);
        const next = new Map<number, number>();
        metadata.forEach((m, i) => {
          assert.equal(m.topic, topic);
          assert.equal(m.partition, partitionForKey(records[i]!.key, 3), `record ${i} partition`);
          // Offsets within one call grow by one per record, in call order, per partition, from 0.
          assert.equal(m.offset, next.get(m.partition) ?? 0, `record ${i} offset`);
          next.set(m.partition, m.offset + 1);
        });
        const explicit = await log.produce(topic, [{ key: 'device-0', value: 'pinned', partition: 2 }]);
        assert.equal(explicit[0]!.partition, 2);
        assert.equal(explicit[0]!.offset, next.get(2) ?? 0);
        next.set(2, (next.get(2) ?? 0) + 1);
        const ends = await log.endOffsets(topic);
        assert.deepEqual(ends, [0, 1, 2].map((partition) => ({ topic, partition, offset: next.get(partition) ?? 0 })));
        await assert.rejects(log.produce(`${topic}-missing`, [{ value: 'x' }]));
      }, [topic]);
    });

    test('concurrent produce calls all land, each offset once', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { topic } = names('concurrent');
      await withLog(harness, async (log) => {
        await log.createTopics([{ name: topic, partitions: 2 }]);
        const calls = Array.from({ length: 40 }, (_, i) => log.produce(topic, [{ key: `k${i % 4}`, value: `c${i}-a` }, { key: `k${i % 4}`, value: `c${i}-b` }]));
        const results = await Promise.all(calls);
        const seen = new Set<string>();
        for (const [a, b] of results.map((r) => [r[0]!, r[1]!] as const)) {
          // Records of one call for one partition are contiguous and in order.
          if (a.partition === b.partition) assert.equal(b.offset, a.offset + 1);
          for (const m of [a, b]) {
            const k = `${m.partition}@${m.offset}`;
            assert.ok(!seen.has(k), `offset ${k} given twice`);
            seen.add(k);
          }
        }
        const total = (await log.endOffsets(topic)).reduce((sum, o) => sum + o.offset, 0);
        assert.equal(total, 80);
      }, [topic]);
    });

    test('records of one key stay in order across many produce calls and partitions', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { topic, group } = names('order');
      await withLog(harness, async (log) => {
        await log.createTopics([{ name: topic, partitions: 4 }]);
        const keys = Array.from({ length: 10 }, (_, i) => `device-${i}`);
        for (let round = 0; round < 20; round++) {
          await log.produce(topic, keys.map((key) => ({ key, value: `${key}:${round}` })));
        }
        const c = await startCollecting(log, { groupId: group, topics: [topic] }, true);
        await waitFor('200 records', () => c.records.length >= 200);
        await c.consumer.stop();
        for (const key of keys) {
          const mine = c.records.filter((r) => r.key?.toString() === key);
          assert.equal(new Set(mine.map((r) => r.partition)).size, 1, `${key} on one partition`);
          assert.equal(mine[0]!.partition, partitionForKey(key, 4));
          assert.deepEqual(mine.map(valueText), Array.from({ length: 20 }, (_, round) => `${key}:${round}`));
        }
        for (const batch of c.batches) {
          const offsets = batch.records.map((r) => r.offset);
          assert.ok(offsets.every((o, i) => i === 0 || o === offsets[i - 1]! + 1), 'a batch holds consecutive offsets');
          assert.equal(batch.nextOffset, offsets.at(-1)! + 1);
          assert.ok(batch.records.every((r) => r.topic === topic && r.partition === batch.partition));
        }
      }, [topic]);
    });

    test('headers, null keys, null values and timestamps round-trip; null keys spread over partitions', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { topic, group } = names('headers');
      await withLog(harness, async (log) => {
        await log.createTopics([{ name: topic, partitions: 3 }]);
        const binary = randomBytes(16);
        const before = Date.now();
        await log.produce(topic, [
          { key: 'h', value: 'with-headers', headers: { 'content-type': 'application/json', bin: binary, empty: '' }, timestamp: 1_600_000_000_123 },
          { key: 'n', value: null },
          { key: null, value: 'no-key' },
        ]);
        const after = Date.now();
        // Null keys spread: one record per call, so no batching or sticky partitioning can hide the spread.
        const spread = new Set<number>();
        for (let i = 0; i < 30; i++) spread.add((await log.produce(topic, [{ value: `spread-${i}` }]))[0]!.partition);
        assert.ok(spread.size >= 2, `30 null-key records used ${spread.size} partition(s)`);

        const c = await startCollecting(log, { groupId: group, topics: [topic] }, true);
        await waitFor('33 records', () => c.records.length >= 33);
        await c.consumer.stop();
        const byValue = (v: string | null) => c.records.find((r) => (r.value === null ? v === null : r.value.toString() === v));
        const withHeaders = byValue('with-headers')!;
        assert.equal(withHeaders.key?.toString(), 'h');
        assert.deepEqual(withHeaders.headers['content-type'], Buffer.from('application/json'));
        assert.deepEqual(withHeaders.headers.bin, binary);
        assert.deepEqual(withHeaders.headers.empty, Buffer.alloc(0));
        assert.equal(withHeaders.timestamp, 1_600_000_000_123);
        const nullValue = byValue(null)!;
        assert.equal(nullValue.value, null);
        assert.equal(nullValue.key?.toString(), 'n');
        assert.ok(nullValue.timestamp >= before - 1000 && nullValue.timestamp <= after + 1000, 'default timestamp is the append time');
        assert.deepEqual(nullValue.headers, {});
        const noKey = byValue('no-key')!;
        assert.equal(noKey.key, null);
      }, [topic]);
    });

    test('large records (~1 MB) round-trip intact', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { topic, group } = names('large');
      await withLog(harness, async (log) => {
        await log.createTopics([{ name: topic, partitions: 1 }]);
        // Under Kafka's default max.message.bytes (1048588) with room for record overhead; one record per call, so
        // no producer batch exceeds the broker limit.
        const payloads = [randomBytes(1_000_000), randomBytes(999_000), Buffer.from('small')];
        for (const [i, value] of payloads.entries()) await log.produce(topic, [{ key: `big-${i}`, value }]);
        const c = await startCollecting(log, { groupId: group, topics: [topic], maxBatchRecords: 10 }, true);
        await waitFor('3 records', () => c.records.length >= 3);
        await c.consumer.stop();
        const sha = (b: Buffer | null) => createHash('sha256').update(b ?? Buffer.alloc(0)).digest('hex');
        assert.deepEqual(c.records.slice(0, 3).map((r) => sha(r.value)), payloads.map(sha));
      }, [topic]);
    });

    test('handled but uncommitted records are delivered again after close and reopen (at-least-once)', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { topic, group } = names('redeliver');
      await withLog(harness, async (log) => {
        await log.createTopics([{ name: topic, partitions: 2 }]);
        await log.produce(topic, Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 5}`, value: `r${i}` })));
        // Commit only what sits before offset 3 on each partition, then "crash" by closing without committing more.
        const seen: LogRecord[] = [];
        let committedOnce = new Set<number>();
        const consumer = log.consumer({ groupId: group, topics: [topic], fromBeginning: true });
        await consumer.start(async (batch) => {
          seen.push(...batch.records);
          if (!committedOnce.has(batch.partition) && batch.records.some((r) => r.offset >= 2)) {
            committedOnce.add(batch.partition);
            await consumer.commit([{ topic, partition: batch.partition, offset: 3 }]);
          }
        });
        await waitFor('20 records in the first run', () => seen.length >= 20);
        await waitFor('both commits', () => committedOnce.size === 2);
        committedOnce = new Set();
        assert.deepEqual((await log.committedOffsets(group, topic)).map((o) => o.offset), [3, 3]);
      }, []);
      await withLog(harness, async (log) => {
        const ends = await log.endOffsets(topic);
        const c = await startCollecting(log, { groupId: group, topics: [topic] }, false);
        const expected = ends.reduce((sum, e) => sum + e.offset - 3, 0);
        await waitFor(`${expected} redelivered records`, () => c.records.length >= expected);
        await c.consumer.stop();
        for (const { partition, offset } of ends) {
          const mine = c.records.filter((r) => r.partition === partition).map((r) => r.offset);
          // Redelivery resumes exactly at the committed offset: nothing committed comes back, nothing else is lost.
          assert.deepEqual([...new Set(mine)].sort((a, b) => a - b), Array.from({ length: offset - 3 }, (_, i) => i + 3));
        }
      }, [topic]);
    });

    test('commit semantics: committed offset is the next to read; after a restart only later records arrive', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { topic, group } = names('commit');
      await withLog(harness, async (log) => {
        await log.createTopics([{ name: topic, partitions: 1 }]);
        assert.deepEqual(await log.committedOffsets(group, topic), []);
        await log.produce(topic, Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: `first-${i}` })));
        const c = await startCollecting(log, { groupId: group, topics: [topic] }, true);
        await waitFor('10 records', () => c.records.length >= 10);
        await waitFor('offset 10 committed', async () => (await log.committedOffsets(group, topic))[0]?.offset === 10);
        await c.consumer.stop();
        assert.deepEqual(await log.committedOffsets(group, topic), [{ topic, partition: 0, offset: 10 }]);
      });
      await withLog(harness, async (log) => {
        assert.deepEqual(await log.committedOffsets(group, topic), [{ topic, partition: 0, offset: 10 }], 'commits survive a restart');
        await log.produce(topic, Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: `second-${i}` })));
        const c = await startCollecting(log, { groupId: group, topics: [topic] }, true);
        await waitFor('5 later records', () => c.records.length >= 5);
        await waitFor('offset 15 committed', async () => (await log.committedOffsets(group, topic))[0]?.offset === 15);
        await c.consumer.stop();
        assert.deepEqual(c.records.map(valueText), Array.from({ length: 5 }, (_, i) => `second-${i}`));
        assert.equal(c.records[0]!.offset, 10);
      }, [topic]);
    });

    test('a batch whose handler fails is delivered again and not committed', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { topic, group } = names('retry');
      await withLog(harness, async (log) => {
        await log.createTopics([{ name: topic, partitions: 1 }]);
        await log.produce(topic, Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: `r${i}` })));
        const attempts: number[] = [];
        const errors: Error[] = [];
        const consumer = log.consumer({ groupId: group, topics: [topic], fromBeginning: true });
        consumer.on((event) => {
          if (event.type === 'error') errors.push(event.error);
        });
        await consumer.start(async (batch) => {
          attempts.push(batch.records[0]!.offset);
          if (attempts.length <= 2) throw new Error('transient failure (test)');
          await consumer.commit([{ topic, partition: batch.partition, offset: batch.nextOffset }]);
        });
        await waitFor('offset 5 committed after the retries', async () => (await log.committedOffsets(group, topic))[0]?.offset === 5);
        await consumer.stop();
        assert.deepEqual(attempts.slice(0, 3), [0, 0, 0], 'the failed batch is delivered again from its first offset');
        assert.ok(errors.length >= 2, 'each failure is reported as an error event');
      }, [topic]);
    });

    test('two consumers of one group split the partitions, and one takes over when the other stops', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { topic, group } = names('split');
      await withLog(harness, async (log) => {
        await log.createTopics([{ name: topic, partitions: 4 }]);
        const a = await startCollecting(log, { groupId: group, topics: [topic] }, true);
        await waitForAssignment(a.consumer, 4);
        const b = await startCollecting(log, { groupId: group, topics: [topic] }, true);
        await waitFor('both members to hold partitions', () => {
          const left = a.consumer.assignment();
          const right = b.consumer.assignment();
          const all = [...left, ...right].map(tpKey);
          return left.length > 0 && right.length > 0 && all.length === 4 && new Set(all).size === 4;
        });
        const bPartitions = new Set(b.consumer.assignment().map((tp) => tp.partition));
        const produced = Array.from({ length: 40 }, (_, i) => ({ value: `split-${i}`, partition: i % 4 }));
        await log.produce(topic, produced);
        const received = () => new Set([...a.records, ...b.records].map(valueText));
        await waitFor('all 40 records across both members', () => received().size >= 40);
        assert.ok(b.records.some((r) => bPartitions.has(r.partition)), 'the second member consumed its partitions');

        await b.consumer.stop();
        await waitForAssignment(a.consumer, 4);
        const later = Array.from({ length: 8 }, (_, i) => ({ value: `after-${i}`, partition: i % 4 }));
        await log.produce(topic, later);
        await waitFor('the remaining member to receive the later records on all partitions', () =>
          later.every((l) => a.records.some((r) => valueText(r) === l.value)),
        );
        await a.consumer.stop();
      }, [topic]);
    });

    test('a slow consumer gets bounded batches, one at a time per partition', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { topic, group } = names('bounded');
      await withLog(harness, async (log) => {
        await log.createTopics([{ name: topic, partitions: 1 }]);
        const total = 1000;
        const max = 25;
        for (let i = 0; i < total; i += 100) {
          await log.produce(topic, Array.from({ length: 100 }, (_, j) => ({ key: 'k', value: `b${i + j}` })));
        }
        const batches: RecordBatch[] = [];
        let inFlight = 0;
        let maxInFlight = 0;
        let release: (() => void) | undefined;
        const consumer = log.consumer({ groupId: group, topics: [topic], fromBeginning: true, maxBatchRecords: max });
        await consumer.start(async (batch) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          batches.push(batch);
          // The test, not a timer, decides when this batch is done: the producer is far ahead of the consumer.
          await new Promise<void>((resolve) => (release = resolve));
          await consumer.commit([{ topic, partition: batch.partition, offset: batch.nextOffset }]);
          inFlight--;
        });
        let handled = 0;
        while (handled < total) {
          await waitFor(`batch ${batches.length + 1}`, () => release !== undefined);
          // While the handler holds a batch, nothing more was handed over: delivery waits for the handler.
          assert.equal(batches.reduce((n, b) => n + b.records.length, 0), handled + batches.at(-1)!.records.length);
          handled += batches.at(-1)!.records.length;
          const r = release!;
          release = undefined;
          r();
        }
        await waitFor('the last commit', async () => (await log.committedOffsets(group, topic))[0]?.offset === total);
        await consumer.stop();
        assert.equal(maxInFlight, 1, 'batches of one partition never overlap');
        assert.ok(batches.every((b) => b.records.length >= 1 && b.records.length <= max), `every batch holds 1..${max} records`);
        assert.ok(batches.length >= total / max, `${batches.length} batches for ${total} records`);
        const values = batches.flatMap((b) => b.records.map(valueText));
        assert.deepEqual(values, Array.from({ length: total }, (_, i) => `b${i}`), 'in order, no gaps, no repeats');
      }, [topic]);
    });

    test('pause stops delivery from a partition without leaving the group; resume continues it', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { topic, group } = names('pause');
      await withLog(harness, async (log) => {
        await log.createTopics([{ name: topic, partitions: 2 }]);
        const c = await startCollecting(log, { groupId: group, topics: [topic] }, true);
        await waitForAssignment(c.consumer, 2);
        c.consumer.pause([{ topic, partition: 0 }]);
        await log.produce(topic, [{ value: 'p0-0', partition: 0 }, { value: 'p0-1', partition: 0 }]);
        // Progress on partition 1, produced after partition 0's records, shows the consumer kept fetching.
        for (let round = 0; round < 3; round++) {
          await log.produce(topic, [{ value: `p1-${round}`, partition: 1 }]);
          await waitFor(`p1-${round}`, () => c.records.some((r) => valueText(r) === `p1-${round}`));
        }
        assert.deepEqual(c.records.filter((r) => r.partition === 0).map(valueText), [], 'nothing from the paused partition');
        assert.equal(c.consumer.assignment().length, 2, 'a paused partition stays assigned');
        c.consumer.resume([{ topic, partition: 0 }]);
        await waitFor('the paused records after resume', () => c.records.filter((r) => r.partition === 0).length >= 2);
        assert.deepEqual(c.records.filter((r) => r.partition === 0).map(valueText), ['p0-0', 'p0-1']);
        // pause() without arguments pauses every assigned partition.
        c.consumer.pause();
        await log.produce(topic, [{ value: 'all-paused', partition: 1 }]);
        c.consumer.resume();
        await waitFor('delivery after resume()', () => c.records.some((r) => valueText(r) === 'all-paused'));
        await c.consumer.stop();
      }, [topic]);
    });

    test('fromBeginning false starts a new group at the end of the log', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { topic, group } = names('latest');
      await withLog(harness, async (log) => {
        await log.createTopics([{ name: topic, partitions: 1 }]);
        await log.produce(topic, [{ key: 'k', value: 'old-0' }, { key: 'k', value: 'old-1' }]);
        const c = await startCollecting(log, { groupId: group, topics: [topic], fromBeginning: false }, true);
        await waitForAssignment(c.consumer, 1);
        // The reset to "latest" may happen on the first fetch (Kafka), so keep producing until something arrives.
        let i = 0;
        await waitFor('a record produced after the consumer started', async () => {
          if (c.records.length > 0) return true;
          await log.produce(topic, [{ key: 'k', value: `new-${i++}` }]);
          return false;
        });
        await c.consumer.stop();
        assert.ok(c.records.every((r) => valueText(r).startsWith('new-')), `only new records: ${c.records.map(valueText).join(',')}`);
      }, [topic]);
    });

    test('endOffsets and committedOffsets report per partition', { timeout: TEST_TIMEOUT_MS }, async () => {
      const { topic, group } = names('offsets');
      await withLog(harness, async (log) => {
        await log.createTopics([{ name: topic, partitions: 3 }]);
        await log.produce(topic, [{ value: 'a', partition: 1 }, { value: 'b', partition: 1 }, { value: 'c', partition: 2 }]);
        assert.deepEqual(await log.endOffsets(topic), [
          { topic, partition: 0, offset: 0 },
          { topic, partition: 1, offset: 2 },
          { topic, partition: 2, offset: 1 },
        ]);
        let committed = false;
        const consumer = log.consumer({ groupId: group, topics: [topic], fromBeginning: true });
        await consumer.start(async (batch) => {
          if (batch.partition === 1 && batch.nextOffset === 2) {
            await consumer.commit([{ topic, partition: 1, offset: 2 }]);
            committed = true;
          }
        });
        await waitFor('the commit of partition 1', () => committed);
        await waitFor('committedOffsets to show it', async () => (await log.committedOffsets(group, topic)).length > 0);
        // Only partitions with a commit are listed.
        assert.deepEqual(await log.committedOffsets(group, topic), [{ topic, partition: 1, offset: 2 }]);
        await consumer.stop();
        assert.deepEqual(await log.committedOffsets(`${group}-other`, topic), []);
      }, [topic]);
    });
  });
}
