/**
 * The producer thread against the real broker: what only the thread has (the log contract itself runs on it in
 * kafka-log.int.test.ts). A thread that dies fails what it had not answered with LogUnavailable — never a silent
 * success — and is replaced; close() fails later calls with LogClosed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { TributaryError } from '../../../errors/index.ts';
import { componentLogger } from '../../../logging/logger.ts';
import { partitionForKey } from '../../partitioner.ts';
import { KafkaLog } from '../kafka-log.ts';
import { ThreadProducer } from './thread-producer.ts';

const BROKERS = (process.env.TRIBUTARY_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const SETTINGS = {
  producer: { lingerMs: 5, batchBytes: 512 * 1024, batchRecords: 10_000, maxPartitionBytes: 1_000_000, maxRequestBytes: 16 * 1024 * 1024 },
  compression: 'none' as const,
  metadataMaxAgeMs: 60_000,
};

/** The thread behind a ThreadProducer: the tests kill it the way a crash would. */
const threadOf = (p: ThreadProducer): Worker => (p as unknown as { worker: Worker }).worker;

describe('ThreadProducer (real Kafka)', () => {
  const topic = `test.producer-thread.${randomUUID().slice(0, 8)}`;
  let admin: KafkaLog;
  let producer: ThreadProducer;

  before(async () => {
    admin = await KafkaLog.connect({ brokers: BROKERS, clientId: 'producer-thread-int' });
    await admin.createTopics([{ name: topic, partitions: 3 }]);
    producer = await ThreadProducer.start({ client: { brokers: BROKERS, clientId: 'producer-thread-int' }, settings: SETTINGS, logLevel: 'error' }, componentLogger('test'));
  });

  after(async () => {
    await producer?.close(5_000);
    await admin?.deleteTopics([topic]).catch(() => undefined);
    await admin?.close();
  });

  test('records land on the key\'s partition and the topic holds exactly them', async () => {
    const records = Array.from({ length: 50 }, (_, i) => ({ key: `dev-${i % 5}`, value: `v${i}`, headers: { n: String(i) } }));
    const placed = await producer.produce(topic, records);
    assert.equal(placed.length, 50);
    for (const [i, p] of placed.entries()) assert.equal(p.partition, partitionForKey(`dev-${i % 5}`, 3), `record ${i}`);
    const end = await admin.endOffsets(topic);
    const total = end.reduce((n, o) => n + o.offset, 0);
    assert.equal(total, 50);
    assert.ok(producer.requests >= 1);
  });

  test('a thread that dies fails what it had not answered with LogUnavailable, and a new thread takes over', async () => {
    const big = Array.from({ length: 2_000 }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(200, i % 256) }));
    const inFlight = producer.produce(topic, big);
    await threadOf(producer).terminate();
    const outcome = await inFlight.then(
      () => 'acknowledged',
      (err: unknown) => (err instanceof TributaryError ? err.code : String(err)),
    );
    // terminate() stops the thread before a Kafka round trip can complete: no answer may pass for an acknowledgement.
    assert.equal(outcome, 'LogUnavailable');
    // While the new thread starts, calls fail fast (retriable) instead of hanging; then they succeed again.
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const [p] = await producer.produce(topic, [{ key: 'after', value: 'x' }]);
        assert.equal(p?.partition, partitionForKey('after', 3));
        break;
      } catch (err) {
        assert.ok(err instanceof TributaryError && err.code === 'LogUnavailable' && err.retriable, String(err));
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });

  test('a bad partition is refused with ArgumentInvalid across the thread', async () => {
    await assert.rejects(producer.produce(topic, [{ key: 'k', value: 'v', partition: 7 }]), (err: unknown) => err instanceof TributaryError && err.code === 'ArgumentInvalid');
  });

  test('after close, produce fails with LogClosed', async () => {
    const p = await ThreadProducer.start({ client: { brokers: BROKERS, clientId: 'producer-thread-int-2' }, settings: SETTINGS, logLevel: 'error' }, componentLogger('test'));
    await p.produce(topic, [{ key: 'c', value: 'before close' }]);
    await p.close(5_000);
    await assert.rejects(p.produce(topic, [{ key: 'c', value: 'after close' }]), (err: unknown) => err instanceof TributaryError && err.code === 'LogClosed');
  });

  test('a broker that cannot be reached fails start() with LogUnavailable', async () => {
    await assert.rejects(
      ThreadProducer.start({ client: { brokers: ['127.0.0.1:1'], clientId: 'producer-thread-int-3', retry: { retries: 0 } }, settings: SETTINGS, logLevel: 'silent' }, componentLogger('test')),
      (err: unknown) => err instanceof TributaryError && err.code === 'LogUnavailable',
    );
  });
});
