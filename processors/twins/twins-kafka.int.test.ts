/**
 * Twins on the production path: the real Kafka at 127.0.0.1:9092 (this run's own topics and consumer group) and the
 * real PostgreSQL (a fresh schema), an ingest node on an ephemeral MQTT port, the twins processor under the runtime,
 * and the official device SDK. The back end's writes go through TwinService, the code the REST routes call (the
 * service SDK itself needs port 443; twins-sdk.e2e.test.ts covers that path).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import device from 'azure-iot-device';
import deviceMqtt from 'azure-iot-device-mqtt';
import { CaCertificateStore } from '../../core/auth/ca-certificates.ts';
import { KafkaLog } from '../../core/log/kafka/index.ts';
import { DeviceRegistry } from '../../core/registry/index.ts';
import { AvroSerde, InProcessSchemaRegistry, SchemaCatalog, registerAllSchemas } from '../../core/serde/index.ts';
import { migrate } from '../../core/store/migrate.ts';
import { PgStore } from '../../core/store/pg-store.ts';
import { TwinService } from '../../core/twins/index.ts';
import { startIngest, type RunningIngest } from '../../ingest/index.ts';
import { HOST, serverIdentity } from '../../ingest/testing/ingest-fixture.ts';
import { eventually, services, uniqueName } from '../../test/support/services.ts';
import { runProcessor, type RunningProcessor } from '../runtime/run-processor.ts';
import { twinsProcessor } from './twins.ts';

const { Client } = device;
type Patch = Record<string, unknown> & { $version?: number };

const suffix = uniqueName('twins');
const topics = {
  deviceMessages: `iot.device.messages.${suffix}`,
  deviceConnections: `iot.device.connections.${suffix}`,
  deviceLifecycle: `iot.device.lifecycle.${suffix}`,
  cloudCommands: `iot.cloud.commands.${suffix}`,
  twinUpdates: `iot.twin.updates.${suffix}`,
  twinChanges: `iot.twin.changes.${suffix}`,
  deviceReplies: `iot.device.replies.${suffix}`,
  deadLetter: `iot.deadletter.${suffix}`,
};
// Identifiers cannot be parameters; the name is built from hex only, never from input.
const schema = `tributary_twins_kafka_${randomBytes(4).toString('hex')}`;

let dataDir: string;
let log: KafkaLog;
let store: PgStore;
let schemaRegistry: InProcessSchemaRegistry;
let ingest: RunningIngest;
let processor: RunningProcessor;
let registry: DeviceRegistry;
let twins: TwinService;

async function admin(script: string): Promise<void> {
  const s = new PgStore({ url: services.databaseUrl, maxConnections: 1 });
  try {
    await s.exec(script);
  } finally {
    await s.close();
  }
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-twins-kafka-'));
  log = await KafkaLog.connect({ brokers: services.kafkaBrokers, clientId: suffix });
  await log.createTopics(Object.values(topics).map((name) => ({ name, partitions: 3 })));
  schemaRegistry = await InProcessSchemaRegistry.open({ dataDir });
  const catalog = SchemaCatalog.load();
  await registerAllSchemas(schemaRegistry, catalog);
  const serde = new AvroSerde(schemaRegistry, catalog);
  await admin(`CREATE SCHEMA ${schema}`);
  store = new PgStore({ url: services.databaseUrl, schema });
  await migrate(store);
  registry = new DeviceRegistry({ store, hubName: 'tributary-test' });
  ingest = await startIngest({
    config: { hostNames: [HOST], ports: { https: 443, mqtts: 0 } },
    platform: { log, store, serde }, registry, caStore: new CaCertificateStore(store), tls: await serverIdentity(),
    mqttPort: 0, mqttHost: '127.0.0.1', topics,
  });
  processor = await runProcessor(twinsProcessor({ store }), {
    log, serde, groupId: `tributary-processor-twins-${suffix}`,
    config: { inputTopic: topics.twinUpdates, connectionsTopic: topics.deviceConnections, changesTopic: topics.twinChanges, commandsTopic: topics.cloudCommands },
  });
  twins = new TwinService({ store, log, serde, topics: { twinChanges: topics.twinChanges, cloudCommands: topics.cloudCommands } });
});
after(async () => {
  await processor?.stop();
  await ingest?.close();
  await log?.deleteTopics(Object.values(topics)).catch(() => undefined);
  await log?.close();
  await store?.close();
  await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await schemaRegistry?.close();
  await rm(dataDir, { recursive: true, force: true });
});

test('the official SDK reads and reports its twin, and gets desired changes, through Kafka and PostgreSQL', async () => {
  const deviceId = `${suffix}-dev`;
  const identity = await registry.putDevice(deviceId, {});
  const cs = `HostName=${HOST};DeviceId=${deviceId};SharedAccessKey=${identity.authentication.symmetricKey.primaryKey};GatewayHostName=${HOST}:${ingest.mqttPort}`;
  const client = Client.fromConnectionString(cs, deviceMqtt.Mqtt);
  await client.open();
  try {
    const twin = await client.getTwin();
    assert.equal(twin.properties.reported.$version, 1);
    for (let i = 1; i <= 5; i++) {
      await new Promise<void>((resolve, reject) => twin.properties.reported.update({ seq: i }, (err?: Error) => (err ? reject(err) : resolve())));
    }
    const afterReports = await twins.get({ deviceId });
    assert.equal(afterReports.properties.reported.seq, 5);
    assert.equal(afterReports.properties.reported.$version, 6);

    const patches: Patch[] = [];
    // A copy: the SDK first raises the event with its live cache of desired properties, which later patches mutate.
    twin.on('properties.desired', (delta: Patch) => patches.push(structuredClone(delta)));
    await eventually('desired subscription', async () => {
      const subs = await ingest.gateway.sessions.load(deviceId);
      return subs?.some((s) => s.topic.startsWith('$iothub/twin/PATCH/properties/desired')) ? true : undefined;
    }, 15_000);
    // Service writes and device reports interleaved: the device sees every desired version, in order.
    const writes: Array<Promise<unknown>> = [];
    for (let i = 1; i <= 5; i++) {
      writes.push(twins.update({ deviceId }, { properties: { desired: { [`k${i}`]: i } } }, '*'));
      writes.push(new Promise<void>((resolve, reject) => twin.properties.reported.update({ [`r${i}`]: i }, (err?: Error) => (err ? reject(err) : resolve()))));
    }
    await Promise.all(writes);
    // Versions, not a count: the device-bound path is at-least-once, so a notification may arrive twice.
    const versions = () => [...new Set(patches.map((p) => p.$version).filter((v): v is number => v !== undefined && v > 1))].sort((a, b) => a - b);
    await eventually('desired versions 2…6 at the device', () => (versions().length >= 5 ? true : undefined), 30_000);
    assert.deepEqual(versions(), [2, 3, 4, 5, 6]);
    for (const p of patches.filter((x) => x.$version !== undefined && x.$version > 1)) {
      // each notification carries exactly the key written with that version
      assert.equal(Object.keys(p).filter((k) => k !== '$version').length, 1);
    }
    const final = await twins.get({ deviceId });
    assert.equal(final.properties.desired.$version, 6);
    assert.equal(final.properties.reported.$version, 11);
    assert.equal(final.version, 1 + 5 + 10);
    for (let i = 1; i <= 5; i++) {
      assert.equal(final.properties.desired[`k${i}`], i);
      assert.equal(final.properties.reported[`r${i}`], i);
    }
  } finally {
    await client.close();
  }
});
