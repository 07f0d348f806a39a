/**
 * KafkaLog against the real broker (127.0.0.1:9092, or TRIBUTARY_KAFKA_BROKERS): the shared Log contract suite plus
 * what only the Kafka implementation has (request coalescing, kafkajs error mapping, handler-failure redelivery).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { TributaryError } from '../../errors/index.ts';
import type { Log, LogRecord, RecordBatch } from '../types.ts';
import { runLogContractSuite } from '../contract-suite.ts';
import { KafkaLog } from './kafka-log.ts';

const BROKERS = (process.env.TRIBUTARY_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

runLogContractSuite('KafkaLog', { open: () => KafkaLog.connect({ brokers: BROKERS, clientId: 'contract-suite' }) });
// The same contract with the producer on its worker thread, as the hub runs it (kafka.producerThread).
runLogContractSuite('KafkaLog (producer thread)', { open: () => KafkaLog.connect({ brokers: BROKERS, clientId: 'contract-suite-thread', producerThread: true }) });

const uid = () => randomUUID().slice(0, 8);

async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const hasCode = (code: string) => (err: unknown) => err instanceof TributaryError && err.code === code;

describe('KafkaLog (Kafka-specific)', () => {
  const opened: Log[] = [];
  const topics: string[] = [];
  let log: KafkaLog;

  const open = async () => {
    const l = await KafkaLog.connect({ brokers: BROKERS, clientId: 'kafka-log-int' });
    opened.push(l);
    return l;
  };
  const topic = async (partitions: number) => {
    const name = `test.kafka-log.${uid()}`;
    topics.push(name);
    await log.createTopics([{ name, partitions }]);
    return name;
  };

  after(async () => {
    if (log && topics.length > 0) await log.deleteTopics(topics).catch(() => undefined);
    await Promise.allSettled(opened.map((l) => l.close()));
  });

  test('connects', async () => {
    log = await open();
    assert.equal(log.kind, 'kafka');
  });

  test('concurrent produce calls are coalesced into fewer requests, each resolving with its own offset', async () => {
    const t = await topic(3);
    const before = log.produceRequests;
    const calls = Array.from({ length: 300 }, (_, i) => log.produce(t, [{ key: `device-${i % 7}`, value: `m${i}` }]));
    const results = await Promise.all(calls);
    const requests = log.produceRequests - before;
    assert.ok(requests < 300 / 5, `300 produce calls took ${requests} requests`);
    // Offsets are unique and dense per partition, and a key's records got increasing offsets in call order.
    const perPartition = new Map<number, number[]>();
    const perKey = new Map<string, number[]>();
    results.forEach(([md], i) => {
      assert.ok(md);
      perPartition.set(md.partition, [...(perPartition.get(md.partition) ?? []), md.offset]);
      perKey.set(`device-${i % 7}`, [...(perKey.get(`device-${i % 7}`) ?? []), md.offset]);
    });
    for (const offsets of perPartition.values()) assert.deepEqual([...offsets].sort((a, b) => a - b), offsets.map((_, i) => i));
    for (const offsets of perKey.values()) assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
    const ends = await log.endOffsets(t);
    assert.equal(ends.reduce((s, e) => s + e.offset, 0), 300);
  });

  test('maps kafkajs errors to TributaryError codes', async () => {
    await assert.rejects(log.produce(`test.kafka-log.missing-${uid()}`, [{ value: 'x' }]), hasCode('TopicNotFound'));
    await assert.rejects(log.describeTopic(`test.kafka-log.missing-${uid()}`), hasCode('TopicNotFound'));
    await assert.rejects(log.endOffsets(`test.kafka-log.missing-${uid()}`), hasCode('TopicNotFound'));
    const t = await topic(1);
    // Over the broker's message.max.bytes (1 MiB by default): the broker refuses it, and only this caller fails.
    const big = log.produce(t, [{ value: Buffer.alloc(2 * 1024 * 1024, 1) }]);
    const small = log.produce(t, [{ value: 'fine' }]);
    await assert.rejects(big, hasCode('RecordTooLarge'));
    assert.equal((await small).length, 1);
    await assert.rejects(
      KafkaLog.connect({ brokers: ['127.0.0.1:1'], retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 } }),
      hasCode('LogUnavailable'),
    );
    const closing = await open();
    await closing.close();
    await assert.rejects(closing.produce(t, [{ value: 'x' }]), hasCode('LogClosed'));
    await assert.rejects(closing.listTopics(), hasCode('LogClosed'));
  });

  test('a failing handler does not commit and gets the same batch again after a backoff', async () => {
    const t = await topic(1);
    await log.produce(t, [0, 1, 2].map((i) => ({ key: 'k', value: `v${i}` })));
    const groupId = `test.kafka-log.g-${uid()}`;
    const consumer = log.consumer({ groupId, topics: [t], fromBeginning: true, maxBatchRecords: 10 });
    const deliveries: LogRecord[][] = [];
    const errors: Error[] = [];
    consumer.on((e) => e.type === 'error' && errors.push(e.error));
    let fail = 2;
    let last: RecordBatch | undefined;
    await consumer.start(async (batch) => {
      deliveries.push([...batch.records]);
      if (fail-- > 0) throw new Error('sink down');
      last = batch;
      await consumer.commit([{ topic: t, partition: 0, offset: batch.nextOffset }]);
    });
    await waitFor('a successful delivery', () => last !== undefined);
    assert.equal(deliveries.length, 3);
    for (const d of deliveries) assert.deepEqual(d.map((r) => r.offset), [0, 1, 2]);
    assert.equal(errors.length, 2);
    assert.deepEqual(await log.committedOffsets(groupId, t), [{ topic: t, partition: 0, offset: 3 }]);
    await consumer.stop();
  });

  test('pause() stops delivery and resume() restarts it', async () => {
    const t = await topic(2);
    const groupId = `test.kafka-log.g-${uid()}`;
    const consumer = log.consumer({ groupId, topics: [t], fromBeginning: true });
    const seen: number[] = [];
    await consumer.start(async (batch) => {
      for (const r of batch.records) seen.push(Number(r.value!.toString()));
    });
    await waitFor('an assignment', () => consumer.assignment().length === 2);
    await log.produce(t, [{ key: 'a', value: '1' }]);
    await waitFor('the first record', () => seen.length === 1);
    consumer.pause();
    await log.produce(t, [{ key: 'a', value: '2' }, { key: 'b', value: '3' }]);
    // A fetch long-poll is 500 ms; three of them pass without delivery while paused.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.deepEqual(seen, [1]);
    consumer.resume();
    await waitFor('the records produced while paused', () => seen.length === 3);
    assert.deepEqual([...seen].sort(), [1, 2, 3]);
    await consumer.stop();
  });
});
