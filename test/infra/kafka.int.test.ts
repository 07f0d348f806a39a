// Smoke test of the real Kafka broker started by infra/kafka/start.sh, straight through kafkajs (the Log contract
// tests in core/log cover the project's own wrapper).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { eventually, services, uniqueName } from '../support/services.ts';

test('kafka: a KRaft broker answers, and a consumer group reads what a producer wrote, per key in order', async () => {
  const kafka = new Kafka({ clientId: 'smoke', brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueName('smoke');
  try {
    const cluster = await admin.describeCluster();
    assert.equal(cluster.brokers.length, 1, 'single-node cluster');
    assert.ok(await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true }));

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `device-${i % 3}`, value: String(i) }));
    await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('smoke-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const byKey = new Map<string, number[]>();
    let count = 0;
    await consumer.run({
      eachMessage: async ({ message }) => {
        const key = message.key!.toString();
        byKey.set(key, [...(byKey.get(key) ?? []), Number(message.value!.toString())]);
        count++;
      },
    });
    await eventually('30 records consumed', () => (count >= 30 ? true : undefined));
    await consumer.disconnect();

    assert.equal(count, 30);
    for (const [key, values] of byKey) {
      const sorted = [...values].sort((a, b) => a - b);
      assert.deepEqual(values, sorted, `records of ${key} arrive in the order they were produced`);
      assert.equal(values.length, 10);
    }
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
