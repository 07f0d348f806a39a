/**
 * Kafka unreachable mid-stream (issue 5: "A broker restart mid-stream loses no PUBACKed message"), played without
 * touching the shared broker: the ingest node's KafkaLog reaches Kafka only through a TCP proxy this test cuts and
 * restores. While it is cut, no publish sent after the cut is PUBACKed and the node stops reading the publishing
 * sockets (its in-flight count stays bounded); once it is back, every PUBACKed message is on the topic with the body and
 * properties sent. Duplicates are allowed only for messages that were not PUBACKed (the device re-sends those).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { createSasToken } from '../../core/auth/sas.ts';
import { KafkaLog } from '../../core/log/kafka/index.ts';
import { TOPICS } from '../../core/log/topics.ts';
import type { LogRecord } from '../../core/log/types.ts';
import { DeviceRegistry } from '../../core/registry/index.ts';
import { AvroSerde, InProcessSchemaRegistry, SchemaCatalog, registerAllSchemas } from '../../core/serde/index.ts';
import type { DeviceMessage } from '../../core/serde/records.ts';
import { openStore } from '../../core/store/index.ts';
import type { Store } from '../../core/store/types.ts';
import { createCertificateAuthority, issueCertificate } from '../../core/tls/index.ts';
import { eventually, uniqueName } from '../../test/support/services.ts';
import type { GatewayTopics } from '../gateway/types.ts';
import { startIngest, type RunningIngest } from '../index.ts';

const BROKER = { host: '127.0.0.1', port: 9092 };

/** A TCP proxy to the broker that can drop every connection and refuse new ones until restored. */
async function startProxy(): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let down = false;
  const server: Server = createServer((client) => {
    if (down) return client.destroy();
    const upstream = netConnect(BROKER.port, BROKER.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

interface Sent {
  body: string;
  sentAt: number;
  ackedAt?: number;
}

describe('Kafka unreachable mid-stream (through a proxy the test cuts)', () => {
  const run = uniqueName('outage');
  const topics: GatewayTopics = {
    deviceMessages: `${run}.messages`, deviceConnections: `${run}.connections`, deviceLifecycle: `${run}.lifecycle`,
    cloudCommands: `${run}.commands`, twinUpdates: `${run}.twin`, deviceReplies: `${run}.replies`,
  };
  let dataDir: string;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let log: KafkaLog;
  let reader: KafkaLog;
  let store: Store;
  let schemas: InProcessSchemaRegistry;
  let serde: AvroSerde;
  let registry: DeviceRegistry;
  let ingest: RunningIngest;
  let caPem: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-outage-'));
    proxy = await startProxy();
    log = await KafkaLog.connect({
      brokers: [`127.0.0.1:${proxy.port}`], clientId: run,
      connectVia: { host: '127.0.0.1', port: proxy.port },
      // As the hub runs it: the producer on its own thread, whose connections go through the proxy too.
      producerThread: true,
    });
    reader = await KafkaLog.connect({ brokers: [`${BROKER.host}:${BROKER.port}`], clientId: `${run}-reader` });
    await reader.createTopics(Object.values(topics).map((name) => ({ name, partitions: 2 })));
    store = await openStore({ dataDir });
    schemas = await InProcessSchemaRegistry.open({ dataDir });
    const catalog = SchemaCatalog.load();
    await registerAllSchemas(schemas, catalog);
    serde = new AvroSerde(schemas, catalog);
    registry = new DeviceRegistry({ store, hubName: 'localhost' });
    await registry.ensureDefaultPolicies();
    const ca = await createCertificateAuthority({ commonName: 'outage test CA', validityDays: 1 });
    caPem = ca.certPem;
    const tls = await issueCertificate({ issuer: ca, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
    ingest = await startIngest({
      config: { hostNames: ['localhost', '127.0.0.1'], ports: { https: 443, mqtts: 0 } },
      platform: { log, store, serde }, registry, tls, mqttPort: 0, mqttHost: '127.0.0.1', topics,
      // Small, so that the outage exercises the pause: the client keeps far more than this in flight.
      limits: { maxInflightPerConnection: 20 },
    });
  });

  after(async () => {
    await ingest?.close();
    proxy?.restore();
    await log?.close();
    await reader?.deleteTopics(Object.values(topics)).catch(() => undefined);
    await reader?.close();
    await store?.close();
    await schemas?.close();
    await proxy?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('no PUBACK while Kafka is unreachable, sockets paused, every PUBACKed message on the topic afterwards', async () => {
    const key = randomBytes(32).toString('base64');
    const ids = [0, 1, 2].map((i) => `${run}-dev${i}`);
    await registry.bulk(ids.map((id) => ({ id, importMode: 'create', status: 'enabled', authentication: { type: 'sas', symmetricKey: { primaryKey: key, secondaryKey: key } } })));
    const sent = new Map<string, Sent>();
    let publishing = true;
    const clients: MqttClient[] = [];
    for (const id of ids) {
      const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${ingest.mqttPort}`, {
        protocolVersion: 4, clientId: id, clean: false, keepalive: 60, reconnectPeriod: 500, ca: caPem, servername: 'localhost',
        username: `localhost/${id}/?api-version=2021-04-12`,
        password: createSasToken({ resourceUri: `localhost/devices/${id}`, key, expiresAt: Math.floor(Date.now() / 1000) + 3600 }),
      });
      clients.push(client);
      let seq = 0;
      // 500 in flight per device: 25 times the node's per-connection limit, several TLS reads' worth.
      const publishOne = () => {
        if (!publishing) return;
        const mid = `${id}.${++seq}`;
        const body = JSON.stringify({ mid, t: 20 + (seq % 7) });
        const entry: Sent = { body, sentAt: Date.now() };
        sent.set(mid, entry);
        client.publish(`devices/${id}/messages/events/%24.mid=${mid}&seq=${seq}`, body, { qos: 1 }, (err) => {
          if (!err) entry.ackedAt = Date.now();
          setImmediate(publishOne);
        });
      };
      for (let i = 0; i < 500; i++) publishOne();
    }
    const acked = () => [...sent.values()].filter((s) => s.ackedAt !== undefined).length;
    await eventually('300 PUBACKs before the outage', () => (acked() >= 300 ? true : undefined), 30_000);

    proxy.cut();
    const cutAt = Date.now();
    let maxInflight = 0;
    const sampler = setInterval(() => (maxInflight = Math.max(maxInflight, ingest.gateway.inflightPublishes)), 20);
    await new Promise((r) => setTimeout(r, 4000));
    const restoredAt = Date.now();
    proxy.restore();
    clearInterval(sampler);

    // The answer to a request Kafka had already taken when the cut came may still arrive a moment later; after that,
    // nothing can reach Kafka until the restore, so any PUBACK in between would be a lie.
    const lies = [...sent.entries()].filter(([, s]) => s.ackedAt !== undefined && s.ackedAt > cutAt + 500 && s.ackedAt < restoredAt);
    assert.deepEqual(lies.map(([mid]) => mid), [], 'PUBACKed while Kafka was unreachable');
    const waiting = [...sent.values()].filter((s) => s.ackedAt === undefined || s.ackedAt >= restoredAt).length;
    assert.ok(waiting >= ids.length * 100, `publishes the devices were waiting on during the outage: ${waiting}`);
    assert.ok(maxInflight > 0, 'the node held publishes for the log during the outage');
    // Paused sockets: per connection at most the limit (20) plus the packets of the one read being parsed when it was
    // reached (a 16 KB TLS record holds ~110 of these publishes), far below the 500 each device keeps in flight.
    assert.ok(maxInflight <= ids.length * 150, `in flight on the node during the outage: ${maxInflight}`);

    await eventually('PUBACKs after Kafka is back', () => (acked() >= 300 + 200 ? true : undefined), 90_000);
    publishing = false;
    await eventually('the node drained', () => (ingest.gateway.inflightPublishes === 0 ? true : undefined), 90_000);
    await new Promise((r) => setTimeout(r, 500));
    await Promise.all(clients.map((c) => c.endAsync(true)));

    const ackedIds = [...sent.entries()].filter(([, s]) => s.ackedAt !== undefined).map(([mid]) => mid);
    const records: LogRecord[] = [];
    const consumer = reader.consumer({ groupId: `${run}-check`, topics: [topics.deviceMessages], fromBeginning: true });
    await consumer.start(async (batch) => {
      records.push(...batch.records);
    });
    const onTopic = new Map<string, DeviceMessage[]>();
    try {
      await eventually('every PUBACKed message on the topic', async () => {
        onTopic.clear();
        for (const r of records) {
          const m = await serde.decode<DeviceMessage>(r.value ?? Buffer.alloc(0), TOPICS.deviceMessages);
          onTopic.set(m.messageId ?? '', [...(onTopic.get(m.messageId ?? '') ?? []), m]);
        }
        return ackedIds.every((mid) => onTopic.has(mid)) ? true : undefined;
      }, 60_000);
    } finally {
      await consumer.stop();
    }
    for (const mid of ackedIds) {
      const copies = onTopic.get(mid)!;
      for (const m of copies) {
        assert.equal(m.body.toString('utf8'), sent.get(mid)!.body, `body of ${mid}`);
        assert.equal(m.properties?.seq, mid.split('.').at(-1), `property of ${mid}`);
        assert.equal(m.connectionDeviceId, mid.slice(0, mid.lastIndexOf('.')));
      }
    }
    const duplicated = ackedIds.filter((mid) => onTopic.get(mid)!.length > 1).length;
    process.stdout.write(`# ${ackedIds.length} PUBACKed, all on the topic; ${duplicated} of them twice (re-sent after a reconnect); max ${maxInflight} in flight during the outage\n`);
  });
});
