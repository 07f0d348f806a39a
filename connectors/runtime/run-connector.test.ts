import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { TOPICS } from '../../core/log/topics.ts';
import { DLQ_HEADERS } from '../../core/runtime/dead-letter.ts';
import type { ForwardedRecord } from '../../core/serde/index.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import type { LogRecord } from '../../core/log/types.ts';
import { metricsRegistry } from '../../core/metrics/registry.ts';
import { eventually } from '../../test/support/services.ts';
import { SinkError, defineConnector, type SinkBatch, type SinkConnector } from './define-connector.ts';
import { runConnector } from './run-connector.ts';

let platform: EmbeddedPlatform;
before(async () => {
  platform = await openEmbeddedPlatform();
  await platform.log.createTopics([{ name: 'iot.route.sink', partitions: 2 }, { name: TOPICS.deadLetter, partitions: 1 }]);
});
after(() => platform.close());

test('retriable sink failures are retried until written; poison records named by the sink are dead-lettered', async () => {
  const written: string[] = [];
  let outagesLeft = 2;
  let attempts = 0;
  const memorySink = defineConnector({
    name: 'memory',
    description: 'collects values; rejects "poison" values permanently and has a short outage first',
    configSchema: Type.Object({ label: Type.String({ default: 'm' }) }),
    create: () => ({
      async connect() {},
      async close() {},
      async writeBatch(batch: SinkBatch) {
        attempts++;
        if (outagesLeft > 0) {
          outagesLeft--;
          throw new SinkError('sink unreachable', { retriable: true });
        }
        const poison = batch.records.flatMap((r, i) => (r.value?.toString().startsWith('poison') ? [i] : []));
        batch.records.forEach((r, i) => {
          if (!poison.includes(i)) written.push(r.value!.toString());
        });
        if (poison.length > 0) throw new SinkError(`${poison.length} records are not valid for this sink`, { retriable: false, failed: poison });
      },
    }),
  });
  const values = Array.from({ length: 40 }, (_, i) => (i % 10 === 3 ? `poison-${i}` : `ok-${i}`));
  await platform.log.produce('iot.route.sink', values.map((value, i) => ({ key: `d${i % 4}`, value })));

  const running = await runConnector(memorySink, { log: platform.log, serde: platform.serde, topics: ['iot.route.sink'] });
  try {
    const dead = await platform.readTopic(TOPICS.deadLetter, 4);
    const deadValues = await Promise.all(dead.map(async (r) => (await platform.serde.decode<ForwardedRecord>(r.value!)).value!.toString()));
    assert.deepEqual(deadValues.sort(), values.filter((v) => v.startsWith('poison')).sort());
    assert.ok(dead.every((r) => r.headers[DLQ_HEADERS.code]?.toString() === 'SinkWriteFailed'));
    await eventually('all records committed', async () => {
      const committed = await platform.log.committedOffsets(running.groupId, 'iot.route.sink');
      return committed.reduce((n, c) => n + c.offset, 0) === 40 ? true : undefined;
    });
  } finally {
    await running.stop();
  }
  assert.equal(outagesLeft, 0);
  assert.ok(attempts >= 3, 'the outage was retried, not skipped');
  assert.deepEqual(written.sort(), values.filter((v) => v.startsWith('ok')).sort(), 'every good record written exactly once');
});

/** A sink driven by the test: records every batch it was given and asks `behave` what to do with each. */
function scriptedSink(behave: (batch: SinkBatch, call: number) => Promise<void> | void = () => undefined) {
  const batches: SinkBatch[] = [];
  let calls = 0;
  const definition = defineConnector({
    name: 'scripted',
    description: 'test sink',
    configSchema: Type.Object({}),
    create: (): SinkConnector => ({
      async connect() {},
      async close() {},
      async writeBatch(batch) {
        await behave(batch, calls++);
        batches.push({ ...batch, records: [...batch.records] });
      },
    }),
  });
  return { definition, batches, calls: () => calls };
}

let topicSeq = 0;
async function freshTopic(partitions = 1): Promise<string> {
  const topic = `iot.route.t${topicSeq++}`;
  await platform.log.createTopics([{ name: topic, partitions }]);
  return topic;
}

const offsetsOf = (records: readonly LogRecord[]) => records.map((r) => r.offset);
const committedTotal = async (groupId: string, topic: string) => (await platform.log.committedOffsets(groupId, topic)).reduce((n, c) => n + c.offset, 0);

test('records of several consumer batches accumulate into one write, bounded by count and bytes, in offset order', async () => {
  const topic = await freshTopic();
  const sink = scriptedSink();
  const running = await runConnector(sink.definition, { log: platform.log, serde: platform.serde, topics: [topic], maxBatchRecords: 10, maxBatchBytes: 1_000_000, maxBatchWaitMs: 300 });
  try {
    // Five separate appends of 3 records, each delivered as its own consumer batch (the fetcher never reads ahead).
    for (let i = 0; i < 5; i++) {
      await platform.log.produce(topic, [0, 1, 2].map((j) => ({ key: 'd', value: `v${i * 3 + j}` })));
      await new Promise((r) => setTimeout(r, 20));
    }
    await eventually('15 records written', () => (sink.batches.reduce((n, b) => n + b.records.length, 0) === 15 ? true : undefined), 10_000);
    const sizes = sink.batches.map((b) => b.records.length);
    assert.ok(sizes.every((n) => n <= 10), `no batch over maxBatchRecords: ${sizes.join(',')}`);
    assert.ok(sizes.length < 5, `consumer batches were accumulated (${sizes.length} writes for 5 appends)`);
    assert.deepEqual(sink.batches.flatMap((b) => offsetsOf(b.records)), Array.from({ length: 15 }, (_, i) => i), 'each record once, in order');
    await eventually('committed to the end', async () => ((await committedTotal(running.groupId, topic)) === 15 ? true : undefined), 10_000);
  } finally {
    await running.stop();
  }

  // Bytes: 40-byte values with a 100-byte limit → at most 2 per write.
  const topic2 = await freshTopic();
  const sink2 = scriptedSink();
  const running2 = await runConnector(sink2.definition, { log: platform.log, serde: platform.serde, topics: [topic2], groupId: 'bytes', maxBatchRecords: 100, maxBatchBytes: 100, maxBatchWaitMs: 50 });
  try {
    await platform.log.produce(topic2, Array.from({ length: 7 }, (_, i) => ({ value: `${i}`.padEnd(40, 'x') })));
    await eventually('7 records written', () => (sink2.batches.reduce((n, b) => n + b.records.length, 0) === 7 ? true : undefined), 10_000);
    assert.ok(sink2.batches.every((b) => b.records.reduce((n, r) => n + r.value!.length, 0) <= 100), 'no batch over maxBatchBytes');
    assert.deepEqual(sink2.batches.flatMap((b) => offsetsOf(b.records)), [0, 1, 2, 3, 4, 5, 6]);
  } finally {
    await running2.stop();
  }
});

test('only written batches are committed, per partition and in order', async () => {
  const topic = await freshTopic();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const sink = scriptedSink(async (_batch, call) => {
    if (call === 1) await gate; // the second write hangs until the test lets it go
  });
  const running = await runConnector(sink.definition, { log: platform.log, serde: platform.serde, topics: [topic], maxBatchRecords: 4, maxBatchWaitMs: 0 });
  try {
    await platform.log.produce(topic, Array.from({ length: 8 }, (_, i) => ({ key: 'd', value: `v${i}` })));
    await eventually('first write done', () => (sink.batches.length === 1 ? true : undefined), 10_000);
    await eventually('first batch committed', async () => ((await committedTotal(running.groupId, topic)) === 4 ? true : undefined), 10_000);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await committedTotal(running.groupId, topic), 4, 'nothing past the written batch is committed while the next write is pending');
    release();
    await eventually('all committed', async () => ((await committedTotal(running.groupId, topic)) === 8 ? true : undefined), 10_000);
    assert.deepEqual(sink.batches.flatMap((b) => offsetsOf(b.records)), [0, 1, 2, 3, 4, 5, 6, 7]);
  } finally {
    await running.stop();
  }
});

test('a failing sink pauses the partitions: memory stays bounded, lag shows, nothing is lost when it returns', async () => {
  const topic = await freshTopic(2);
  let down = true;
  const sink = scriptedSink(() => {
    if (down) throw new SinkError('sink unreachable', { retriable: true });
  });
  const max = 20;
  const running = await runConnector(sink.definition, {
    log: platform.log, serde: platform.serde, topics: [topic], metricsLabel: `paused-${topic}`, maxBatchRecords: max, maxBatchWaitMs: 10, lagIntervalMs: 50,
  });
  const lag = async () => {
    const values = (await metricsRegistry.getSingleMetric('tributary_connector_lag_records')!.get()).values;
    return values.filter((v) => v.labels.connector === `paused-${topic}`).reduce((n, v) => n + v.value, 0);
  };
  const total = 1000;
  try {
    await platform.log.produce(topic, Array.from({ length: total }, (_, i) => ({ key: `d${i % 7}`, value: `v${i}` })));
    await eventually('sink reported down', () => (running.status().sinkDown ? true : undefined), 10_000);
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, running.status().bufferedRecords);
      await new Promise((r) => setTimeout(r, 25));
    }
    // Per partition at most one sink batch plus one consumer batch (each ≤ max) may be held.
    assert.ok(peak <= 2 * 2 * max, `buffered ${peak} records while the sink was down`);
    await eventually('lag reported', async () => ((await lag()) > total - 4 * max ? true : undefined), 10_000);
    down = false;
    await eventually('all committed', async () => ((await committedTotal(running.groupId, topic)) === total ? true : undefined), 30_000);
    assert.equal(running.status().sinkDown, false);
    const written = sink.batches.flatMap((b) => b.records.map((r) => r.value!.toString()));
    assert.equal(written.length, total, 'each record written exactly once (no restart happened)');
    assert.equal(new Set(written).size, total);
    for (const partition of [0, 1]) {
      const offsets = sink.batches.filter((b) => b.partition === partition).flatMap((b) => offsetsOf(b.records));
      assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), `partition ${partition} written in offset order`);
    }
    await eventually('lag back to 0', async () => ((await lag()) === 0 ? true : undefined), 10_000);
  } finally {
    await running.stop();
  }
});

test('stop writes what is buffered before leaving', async () => {
  const topic = await freshTopic();
  const sink = scriptedSink();
  const running = await runConnector(sink.definition, { log: platform.log, serde: platform.serde, topics: [topic], maxBatchRecords: 100, maxBatchWaitMs: 60_000 });
  await platform.log.produce(topic, Array.from({ length: 5 }, (_, i) => ({ value: `v${i}` })));
  await eventually('buffered', () => (running.status().bufferedRecords === 5 ? true : undefined), 10_000);
  assert.equal(sink.batches.length, 0, 'below the limits and before the wait: not written yet');
  await running.stop();
  assert.deepEqual(sink.batches.flatMap((b) => offsetsOf(b.records)), [0, 1, 2, 3, 4]);
  assert.equal(await committedTotal(running.groupId, topic), 5);
});
