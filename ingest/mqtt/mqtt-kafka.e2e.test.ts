/**
 * QoS 1 on the production path (DESIGN.md §6): an ingest node on the real Kafka at 127.0.0.1:9092 (this run's own
 * topics) with several raw MQTT clients publishing concurrently; every message the node PUBACKed must be on the topic.
 * Nothing is restarted here (the broker is shared); the count is what proves "PUBACK only after acks=all".
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaCertificateStore } from '../../core/auth/ca-certificates.ts';
import { KafkaLog } from '../../core/log/kafka/index.ts';
import { DeviceRegistry } from '../../core/registry/index.ts';
import { AvroSerde, InProcessSchemaRegistry, SchemaCatalog, registerAllSchemas } from '../../core/serde/index.ts';
import { openStore } from '../../core/store/index.ts';
import type { Store } from '../../core/store/types.ts';
import { services, uniqueName } from '../../test/support/services.ts';
import { startIngest, type RunningIngest } from '../index.ts';
import { decodeMessages, HOST, serverIdentity } from '../testing/ingest-fixture.ts';
import { deviceToken, rawConnect } from '../testing/raw-client.ts';

const DEVICES = 5;
const PER_DEVICE = 200;

let dataDir: string;
let log: KafkaLog;
let store: Store;
let schemaRegistry: InProcessSchemaRegistry;
let ingest: RunningIngest;
let registry: DeviceRegistry;
let serde: AvroSerde;
const suffix = uniqueName('ingest');
const topics = {
  deviceMessages: `iot.device.messages.${suffix}`,
  deviceConnections: `iot.device.connections.${suffix}`,
  deviceLifecycle: `iot.device.lifecycle.${suffix}`,
  cloudCommands: `iot.cloud.commands.${suffix}`,
  twinUpdates: `iot.twin.updates.${suffix}`,
  deviceReplies: `iot.device.replies.${suffix}`,
};

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-ingest-kafka-'));
  log = await KafkaLog.connect({ brokers: services.kafkaBrokers, clientId: suffix });
  await log.createTopics(Object.values(topics).map((name) => ({ name, partitions: 3 })));
  schemaRegistry = await InProcessSchemaRegistry.open({ dataDir });
  const catalog = SchemaCatalog.load();
  await registerAllSchemas(schemaRegistry, catalog);
  serde = new AvroSerde(schemaRegistry, catalog);
  store = await openStore({ dataDir });
  registry = new DeviceRegistry({ store, hubName: 'tributary-test' });
  ingest = await startIngest({
    config: { hostNames: [HOST], ports: { https: 443, mqtts: 0 } },
    platform: { log, store, serde }, registry, caStore: new CaCertificateStore(store), tls: await serverIdentity(),
    mqttPort: 0, mqttHost: '127.0.0.1', topics,
  });
});
after(async () => {
  await ingest?.close();
  await log?.deleteTopics(Object.values(topics)).catch(() => undefined);
  await log?.close();
  await store?.close();
  await schemaRegistry?.close();
  await rm(dataDir, { recursive: true, force: true });
});

test('every PUBACKed QoS 1 message is on the Kafka topic', async () => {
  let acked = 0;
  const started = Date.now();
  await Promise.all(Array.from({ length: DEVICES }, async (_, d) => {
    const deviceId = `${suffix}-d${d}`;
    const identity = await registry.putDevice(deviceId, { deviceId });
    const client = await rawConnect({ port: ingest.mqttPort, deviceId, password: deviceToken(deviceId, identity.authentication.symmetricKey.primaryKey ?? '') });
    // All publishes of a device in flight at once: the node batches them into few Kafka produce requests.
    await Promise.all(Array.from({ length: PER_DEVICE }, async (_, i) => {
      await client.publishAsync(`devices/${deviceId}/messages/events/%24.mid=${d}-${i}&seq=${i}`, JSON.stringify({ d, i, t: 20 + (i % 10) }), { qos: 1 });
      acked++;
    }));
    await client.endAsync();
  }));
  const seconds = (Date.now() - started) / 1000;
  assert.equal(acked, DEVICES * PER_DEVICE);

  const ends = await log.endOffsets(topics.deviceMessages);
  const onTopic = ends.reduce((sum, p) => sum + p.offset, 0);
  assert.ok(onTopic >= acked, `${acked} PUBACKed but only ${onTopic} on ${topics.deviceMessages}`);

  // Decode everything and check each acknowledged message id is there once at least.
  const values: Array<Buffer | null> = [];
  const consumer = log.consumer({ groupId: uniqueName('reader'), topics: [topics.deviceMessages], fromBeginning: true });
  await consumer.start(async (batch) => { for (const r of batch.records) values.push(r.value); });
  const deadline = Date.now() + 60_000;
  while (values.length < onTopic && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  await consumer.stop();
  const ids = new Set((await decodeMessages(serde, values)).map((m) => m.messageId));
  for (let d = 0; d < DEVICES; d++) for (let i = 0; i < PER_DEVICE; i++) assert.ok(ids.has(`${d}-${i}`), `${d}-${i} missing`);
  // A figure for the report, not an assertion (shared noisy machine).
  process.stdout.write(`# ${acked} QoS 1 messages PUBACKed in ${seconds.toFixed(2)} s (${Math.round(acked / seconds)} msg/s, ${DEVICES} devices, KafkaLog)\n`);
});
