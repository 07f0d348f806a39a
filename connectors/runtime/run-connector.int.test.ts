/**
 * The connector runtime on the real broker: pause/resume while the sink is down (bounded memory, nothing lost) and a
 * hand-over to a new member mid-stream (every record written, at-least-once) — kafkajs' fetch, pause and rebalance
 * behaviour differs enough from the embedded log's to need its own run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { KafkaLog } from '../../core/log/kafka/index.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroSerde, InProcessSchemaRegistry, SchemaCatalog } from '../../core/serde/index.ts';
import { eventually, services, uniqueName } from '../../test/support/services.ts';
import { SinkError, defineConnector, type SinkBatch } from './define-connector.ts';
import { runConnector } from './run-connector.ts';

let log: KafkaLog;
let serde: AvroSerde;
let registry: InProcessSchemaRegistry;
let dataDir: string;
const topics: string[] = [];

before(async () => {
  log = await KafkaLog.connect({ brokers: services.kafkaBrokers, clientId: 'run-connector-int' });
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-run-connector-'));
  registry = await InProcessSchemaRegistry.open({ dataDir });
  serde = new AvroSerde(registry, SchemaCatalog.load());
});
after(async () => {
  await log.deleteTopics(topics).catch(() => undefined);
  await log.close();
  await registry.close();
  await rm(dataDir, { recursive: true, force: true });
});

function sink(state: { down: boolean; written: string[]; batches: SinkBatch[] }) {
  return defineConnector({
    name: 'int-sink',
    description: 'test',
    configSchema: Type.Object({}),
    create: () => ({
      async connect() {},
      async close() {},
      async writeBatch(batch) {
        if (state.down) throw new SinkError('down', { retriable: true });
        state.batches.push(batch);
        state.written.push(...batch.records.map((r) => r.value!.toString()));
      },
    }),
  });
}

const committedTotal = async (groupId: string, topic: string) => (await log.committedOffsets(groupId, topic)).reduce((n, c) => n + c.offset, 0);

test('on Kafka: a down sink pauses the partitions with bounded memory, and every record arrives once it is back', async () => {
  const topic = uniqueName('test.run-connector');
  topics.push(topic);
  await log.createTopics([{ name: topic, partitions: 3 }]);
  const total = 3000;
  const max = 100;
  await log.produce(topic, Array.from({ length: total }, (_, i) => ({ key: `d${i % 11}`, value: `v${i}` })));
  const state = { down: true, written: [] as string[], batches: [] as SinkBatch[] };
  const running = await runConnector(sink(state), { log, serde, topics: [topic], groupId: uniqueName('g'), maxBatchRecords: max, maxBatchWaitMs: 20 });
  try {
    await eventually('sink down', () => (running.status().sinkDown ? true : undefined), 60_000);
    let peak = 0;
    for (let i = 0; i < 30; i++) {
      peak = Math.max(peak, running.status().bufferedRecords);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(peak <= 3 * 2 * max, `held ${peak} records while the sink was down`);
    state.down = false;
    await eventually('all committed', async () => ((await committedTotal(running.groupId, topic)) === total ? true : undefined), 60_000);
    assert.equal(new Set(state.written).size, total, 'every record written');
    assert.equal(state.written.length, total, 'and once (no rebalance happened)');
    assert.ok(state.batches.every((b) => b.records.length <= max));
    for (const p of [0, 1, 2]) {
      const offsets = state.batches.filter((b) => b.partition === p).flatMap((b) => b.records.map((r) => r.offset));
      assert.deepEqual(offsets, offsets.map((_, i) => i), `partition ${p}: contiguous, in order`);
    }
  } finally {
    await running.stop();
  }
});

test('on Kafka: a member stopped mid-stream hands over; every record is written at least once and committed', async () => {
  const topic = uniqueName('test.run-connector');
  topics.push(topic);
  await log.createTopics([{ name: topic, partitions: 2 }]);
  const groupId = uniqueName('g');
  const total = 2000;
  const state = { down: false, written: [] as string[], batches: [] as SinkBatch[] };
  const first = await runConnector(sink(state), { log, serde, topics: [topic], groupId, maxBatchRecords: 50, maxBatchWaitMs: 10 });
  await log.produce(topic, Array.from({ length: total / 2 }, (_, i) => ({ key: `d${i % 5}`, value: `v${i}` })));
  await eventually('first member wrote some', () => (state.written.length > 0 ? true : undefined), 60_000);
  await first.stop();
  await log.produce(topic, Array.from({ length: total / 2 }, (_, i) => ({ key: `d${i % 5}`, value: `v${total / 2 + i}` })));
  const second = await runConnector(sink(state), { log, serde, topics: [topic], groupId, maxBatchRecords: 50, maxBatchWaitMs: 10 });
  try {
    await eventually('all committed', async () => ((await committedTotal(groupId, topic)) === total ? true : undefined), 60_000);
    assert.equal(new Set(state.written).size, total, 'nothing lost across the hand-over');
  } finally {
    await second.stop();
  }
});
