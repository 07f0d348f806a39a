import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordMetadata as KafkaRecordMetadata, TopicMessages } from 'kafkajs';
import { TributaryError } from '../../errors/index.ts';
import { componentLogger } from '../../logging/logger.ts';
import { BatchingProducer, type BatchingProducerOptions, type TopicRoute } from './batching-producer.ts';

/** A fake broker: assigns offsets per partition like Kafka and records every request it gets. */
function fakeBroker(options: { failWith?: Error; delayMs?: number } = {}) {
  const ends = new Map<string, number>();
  const requests: TopicMessages[][] = [];
  const send = async (topicMessages: TopicMessages[]): Promise<KafkaRecordMetadata[]> => {
    requests.push(topicMessages);
    await new Promise((r) => setTimeout(r, options.delayMs ?? 1));
    if (options.failWith) throw options.failWith;
    const acks: KafkaRecordMetadata[] = [];
    for (const { topic, messages } of topicMessages) {
      const counts = new Map<number, number>();
      for (const m of messages) counts.set(m.partition!, (counts.get(m.partition!) ?? 0) + 1);
      for (const [partition, n] of counts) {
        const k = `${topic}/${partition}`;
        const base = ends.get(k) ?? 0;
        ends.set(k, base + n);
        acks.push({ topicName: topic, partition, errorCode: 0, baseOffset: String(base) });
      }
    }
    return acks;
  };
  return { send, requests, ends };
}

const route: TopicRoute = { partitions: 4, choose: (key) => (key ? key[0]! % 4 : 0) };
const OPTIONS: BatchingProducerOptions = { lingerMs: 5, batchBytes: 1 << 20, batchRecords: 10_000, maxPartitionBytes: 1_000_000, maxRequestBytes: 16 << 20 };
const logger = componentLogger('test');

describe('BatchingProducer', () => {
  test('coalesces concurrent produce calls into far fewer requests, each caller getting its own offsets', async () => {
    const broker = fakeBroker();
    const producer = new BatchingProducer(OPTIONS, { send: broker.send, route: () => route, logger });
    const calls = Array.from({ length: 200 }, (_, i) => producer.produce('t', [{ key: Buffer.from([i % 4]), value: `v${i}` }]));
    const results = await Promise.all(calls);
    assert.ok(broker.requests.length < 200 / 10, `expected coalescing, got ${broker.requests.length} requests`);
    assert.equal(producer.requests, broker.requests.length);
    // Offsets are dense per partition and follow call order (per-key order).
    const seen = new Map<number, number[]>();
    results.forEach(([md], i) => {
      assert.ok(md);
      assert.equal(md.partition, i % 4);
      seen.set(md.partition, [...(seen.get(md.partition) ?? []), md.offset]);
    });
    for (const offsets of seen.values()) assert.deepEqual(offsets, offsets.map((_, i) => i));
  });

  test('a multi-record call resolves with metadata in record order', async () => {
    const broker = fakeBroker();
    const producer = new BatchingProducer(OPTIONS, { send: broker.send, route: () => route, logger });
    const md = await producer.produce('t', [{ key: 'a', value: '1' }, { key: 'b', value: '2' }, { key: 'a', value: '3' }]);
    const a = 'a'.charCodeAt(0) % 4;
    const b = 'b'.charCodeAt(0) % 4;
    assert.deepEqual(md, [
      { topic: 't', partition: a, offset: 0 },
      { topic: 't', partition: b, offset: 0 },
      { topic: 't', partition: a, offset: 1 },
    ]);
  });

  test('keeps one partition under maxPartitionBytes per request by splitting a call over requests', async () => {
    const broker = fakeBroker();
    const producer = new BatchingProducer({ ...OPTIONS, maxPartitionBytes: 1000 }, { send: broker.send, route: () => route, logger });
    const md = await producer.produce('t', Array.from({ length: 5 }, () => ({ key: Buffer.from([1]), value: Buffer.alloc(600) })));
    assert.equal(broker.requests.length, 5);
    assert.deepEqual(md.map((m) => m.offset), [0, 1, 2, 3, 4]);
  });

  test('a failed request rejects its callers with a coded error', async () => {
    const broker = fakeBroker({ failWith: Object.assign(new Error('too big'), { type: 'MESSAGE_TOO_LARGE' }) });
    const producer = new BatchingProducer(OPTIONS, { send: broker.send, route: () => route, logger });
    await assert.rejects(producer.produce('t', [{ value: 'x' }]), (err: unknown) => err instanceof TributaryError && err.code === 'RecordTooLarge');
  });

  test('rejects a partition outside the topic and produce after close', async () => {
    const broker = fakeBroker();
    const producer = new BatchingProducer(OPTIONS, { send: broker.send, route: () => route, logger });
    await assert.rejects(producer.produce('t', [{ value: 'x', partition: 4 }]), (err: unknown) => err instanceof TributaryError && err.code === 'ArgumentInvalid');
    const pending = producer.produce('t', [{ value: 'x' }]);
    await producer.close();
    assert.equal((await pending).length, 1, 'close flushes what was queued');
    await assert.rejects(producer.produce('t', [{ value: 'y' }]), (err: unknown) => err instanceof TributaryError && err.code === 'LogClosed');
  });
});
