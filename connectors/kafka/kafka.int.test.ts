/**
 * The kafka connector on the real broker (127.0.0.1:9092 or TRIBUTARY_KAFKA_BROKERS): routed records re-published on
 * the same cluster through the hub's KafkaLog (json) and through a connection of its own (`brokers`, avro).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaLog } from '../../core/log/kafka/index.ts';
import { TOPICS, routeTopic } from '../../core/log/topics.ts';
import type { LogRecord } from '../../core/log/types.ts';
import { AvroSerde, InProcessSchemaRegistry, SchemaCatalog, registerAllSchemas } from '../../core/serde/index.ts';
import { eventually, services, uniqueName } from '../../test/support/services.ts';
import { runConnector } from '../runtime/run-connector.ts';
import { routedRecord, sampleDeviceMessage } from '../runtime/testing.ts';
import { kafkaConnector } from './kafka.ts';
import type { RoutedMessageJson } from './kafka-record.ts';

let log: KafkaLog;
let serde: AvroSerde;
let registry: InProcessSchemaRegistry;
let dataDir: string;
const created: string[] = [];

before(async () => {
  log = await KafkaLog.connect({ brokers: services.kafkaBrokers, clientId: 'kafka-connector-int' });
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-kafka-connector-'));
  registry = await InProcessSchemaRegistry.open({ dataDir });
  const catalog = SchemaCatalog.load();
  await registerAllSchemas(registry, catalog);
  serde = new AvroSerde(registry, catalog);
});
after(async () => {
  await log.deleteTopics(created).catch(() => undefined);
  await log.close();
  await registry.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function readAll(topic: string, count: number): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  const consumer = log.consumer({ groupId: uniqueName('reader'), topics: [topic], fromBeginning: true });
  await consumer.start(async (batch) => {
    records.push(...batch.records);
  });
  try {
    await eventually(`${count} records on ${topic}`, () => (records.length >= count ? true : undefined), 60_000);
  } finally {
    await consumer.stop();
  }
  return records;
}

test('json to a topic of the same cluster and avro through its own connection (brokers), keyed by device id', async () => {
  const endpoint = uniqueName('kc');
  const source = routeTopic(endpoint);
  const jsonTarget = uniqueName('test.kafka-connector.json');
  const avroTarget = uniqueName('test.kafka-connector.avro');
  created.push(source, jsonTarget, avroTarget);
  await log.createTopics([{ name: source, partitions: 2 }]);

  const messages = Array.from({ length: 30 }, (_, i) => sampleDeviceMessage({
    messageId: `m${i}`, connectionDeviceId: `dev-${i % 4}`, properties: { seq: String(i) }, body: Buffer.from(JSON.stringify({ i })),
  }));
  await log.produce(source, await Promise.all(messages.map((m, i) => routedRecord(serde, endpoint, m, { sourceOffset: i }))));

  const json = await runConnector(kafkaConnector, { log, serde, topics: [source], groupId: uniqueName('g-json'), config: { topic: jsonTarget }, maxBatchWaitMs: 50 });
  const avro = await runConnector(kafkaConnector, {
    log, serde, topics: [source], groupId: uniqueName('g-avro'), maxBatchWaitMs: 50,
    config: { topic: avroTarget, format: 'avro', brokers: services.kafkaBrokers, clientId: 'kafka-connector-int-own' },
  });
  try {
    const jsonOut = await readAll(jsonTarget, 30);
    assert.equal(jsonOut.length, 30);
    const seen = new Set<number>();
    for (const r of jsonOut) {
      const value = JSON.parse(r.value!.toString()) as RoutedMessageJson;
      const i = Number(value.appProperties.seq);
      seen.add(i);
      assert.equal(r.key!.toString(), `dev-${i % 4}`);
      assert.equal(value.messageId, `m${i}`);
      assert.deepEqual(JSON.parse(value.body), { i });
      assert.equal(r.headers['iothub-connection-device-id']?.toString(), `dev-${i % 4}`);
    }
    assert.equal(seen.size, 30);
    assert.equal((await log.describeTopic(jsonTarget)).partitions, 3, 'created with the default partition count');

    const avroOut = await readAll(avroTarget, 30);
    const expected = new Map(await Promise.all(messages.map(async (m) => [m.messageId!, await serde.encode(TOPICS.deviceMessagesEnriched, m)] as const)));
    for (const r of avroOut) {
      const decoded = await serde.decode<{ messageId: string; connectionDeviceId: string }>(r.value!, TOPICS.deviceMessagesEnriched);
      assert.deepEqual(r.value, expected.get(decoded.messageId), 'value byte-for-byte the original');
      assert.equal(r.key!.toString(), decoded.connectionDeviceId);
    }
  } finally {
    await Promise.all([json.stop(), avro.stop()]);
  }
});
