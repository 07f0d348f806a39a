/**
 * The ClickHouse connector against the real server (http://127.0.0.1:8123 or TRIBUTARY_CLICKHOUSE_URL; 18.16 here)
 * and, for the runtime test, real Kafka. Each test writes to a database of its own, dropped afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { componentLogger } from '../../core/logging/logger.ts';
import { KafkaLog } from '../../core/log/kafka/kafka-log.ts';
import { TOPICS } from '../../core/log/topics.ts';
import type { LogRecord } from '../../core/log/types.ts';
import { validateOptions } from '../../core/runtime/validate-options.ts';
import type { DeviceConnectionEvent, DeviceLifecycleEvent, EnrichedDeviceMessage, TwinChange } from '../../core/serde/index.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { eventually, services, uniqueName } from '../../test/support/services.ts';
import { SinkError } from '../runtime/define-connector.ts';
import { decodeRouted } from '../runtime/routed-message.ts';
import { runConnector } from '../runtime/run-connector.ts';
import { ClickHouseSink } from './clickhouse-sink.ts';
import { ClickHouseConfigSchema } from './config.ts';
import { clickhouseConnector } from './index.ts';
import { toRow } from './rows.ts';
import { TcpProxy } from './testing/tcp-proxy.ts';
import { metricsRegistry } from '../../core/metrics/registry.ts';
import { routedRecord, sampleTelemetry, telemetryRecords } from './testing/routed-records.ts';

const ENDPOINT_TOPIC = 'iot.route.analytics';
const T = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const logger = componentLogger('clickhouse-int');
let platform: EmbeddedPlatform; // serde only
let admin: ClickHouseClient;
const databases: string[] = [];

before(async () => {
  platform = await openEmbeddedPlatform();
  admin = createClient({ url: services.clickhouseUrl });
});
after(async () => {
  for (const db of databases) await admin.command({ query: `DROP DATABASE IF EXISTS \`${db}\`` });
  await admin.close();
  await platform.close();
});

function newDatabase(): string {
  const db = uniqueName('tributary_test').replaceAll('-', '_');
  databases.push(db);
  return db;
}

function sink(database: string, url = services.clickhouseUrl): ClickHouseSink {
  return new ClickHouseSink(validateOptions('clickhouse', ClickHouseConfigSchema, { url, database }), { logger, serde: platform.serde });
}

async function select<T>(query: string): Promise<T[]> {
  return (await admin.query({ query, format: 'JSONEachRow' })).json<T>();
}

async function count(db: string, table: string, final = ''): Promise<number> {
  const [row] = await select<{ c: string }>(`SELECT count() AS c FROM \`${db}\`.\`${table}\` ${final}`);
  return Number(row!.c);
}

async function telemetryBatch(n: number, offset0 = 0): Promise<LogRecord[]> {
  return Promise.all(Array.from({ length: n }, (_, i) =>
    routedRecord(platform.serde, ENDPOINT_TOPIC, sampleTelemetry(offset0 + i, 5, T + offset0 + i), { sourceTopic: TOPICS.deviceMessagesEnriched, partition: 0, offset: offset0 + i }, offset0 + i)));
}

describe('ClickHouse connector (ClickHouse ' + services.clickhouseUrl + ')', () => {
  it('writes device messages, twin changes and device events with their fields intact', async () => {
    const db = newDatabase();
    const odd = "it's a \\ 'quoted' \"id\" 😀";
    const json: EnrichedDeviceMessage = { ...sampleTelemetry(1, 1, T), messageId: odd, connectionModuleId: 'mod-1', correlationId: 'corr-1', properties: { level: 'high', "k'ey": "v'al" } };
    const binary: EnrichedDeviceMessage = { ...sampleTelemetry(2, 1, T + 1), messageId: null, contentType: 'application/octet-stream', body: Buffer.from([0, 0xff, 0x27, 0x5c]) };
    const twin: TwinChange = {
      opType: 'updateTwin', deviceId: 'dev-t', moduleId: null, version: 9, etag: 'e', desiredVersion: null, reportedVersion: 4,
      tagsPatch: null, desiredPatch: null, reportedPatch: '{"fw":"2.0"}', origin: 'Device', requestId: null, operationTime: T + 2,
    };
    const life: DeviceLifecycleEvent = {
      opType: 'createDeviceIdentity', deviceId: 'dev-l', moduleId: null, generationId: 'g', etag: null, status: 'enabled',
      statusReason: null, authenticationType: 'sas', identity: '{"deviceId":"dev-l","status":"enabled"}', operationTime: T + 3,
    };
    const conn: DeviceConnectionEvent = {
      eventType: 'deviceConnected', deviceId: 'dev-c', moduleId: null, connectionId: 'conn-7', ingestNode: 'node-2', protocol: 'Https',
      remoteAddress: null, authMethod: null, modelId: null, reason: null, eventTime: T + 4,
    };
    const records = [
      await routedRecord(platform.serde, ENDPOINT_TOPIC, json, { sourceTopic: TOPICS.deviceMessagesEnriched, partition: 1, offset: 10 }, 0),
      await routedRecord(platform.serde, ENDPOINT_TOPIC, binary, { sourceTopic: TOPICS.deviceMessagesEnriched, partition: 1, offset: 11 }, 1),
      await routedRecord(platform.serde, ENDPOINT_TOPIC, twin, { sourceTopic: TOPICS.twinChanges, partition: 0, offset: 5 }, 2),
      await routedRecord(platform.serde, ENDPOINT_TOPIC, life, { sourceTopic: TOPICS.deviceLifecycle, partition: 0, offset: 6 }, 3),
      await routedRecord(platform.serde, ENDPOINT_TOPIC, conn, { sourceTopic: TOPICS.deviceConnections, partition: 2, offset: 7 }, 4),
    ];
    const s = sink(db);
    await s.connect();
    await s.writeBatch({ topic: ENDPOINT_TOPIC, partition: 0, records });
    await s.close();

    const messages = await select<Record<string, unknown>>(`
      SELECT device_id, module_id, message_id, dedupe_id, enqueued_epoch_ms, toUnixTimestamp(enqueued_time) AS secs, correlation_id, content_type,
             app_properties.keys AS ak, app_properties.values AS av, enrichments.values[indexOf(enrichments.keys, 'site')] AS site,
             system_properties.values[indexOf(system_properties.keys, 'iothub-connection-auth-generation-id')] AS gen,
             body_text, body_hex, hex(unhex(body_hex)) = upper(body_hex) AS hex_ok, body_size, ingest_node, protocol, route, endpoint, source_topic, source_partition, source_offset
      FROM \`${db}\`.messages ORDER BY enqueued_epoch_ms`);
    assert.equal(messages.length, 2);
    const [a, b] = messages as [Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual(
      [a.device_id, a.module_id, a.message_id, a.dedupe_id, Number(a.enqueued_epoch_ms), Number(a.secs), a.correlation_id, a.content_type],
      [json.connectionDeviceId, 'mod-1', odd, odd, T, Math.floor(T / 1000), 'corr-1', 'application/json']);
    assert.deepEqual([a.ak, a.av, a.site, a.gen], [['level', "k'ey"], ['high', "v'al"], 'plant-1', json.connectionDeviceGenerationId]);
    assert.equal(a.body_text, json.body.toString('utf8'));
    assert.equal(a.body_hex, json.body.toString('hex'));
    assert.deepEqual([a.body_size, a.ingest_node, a.protocol, a.route, a.endpoint, a.source_topic, a.source_partition, Number(a.source_offset)],
      [json.body.length, 'ingest-0', 'Mqtt', 'to-clickhouse', 'analytics', TOPICS.deviceMessagesEnriched, 1, 10]);
    assert.deepEqual([b.message_id, b.dedupe_id, b.body_text, b.body_hex, b.hex_ok], ['', `${TOPICS.deviceMessagesEnriched}/1/11`, null, '00ff275c', 1]);

    const [tc] = await select<Record<string, unknown>>(`SELECT device_id, op_type, version, reported_patch, desired_patch, event_epoch_ms FROM \`${db}\`.twin_changes`);
    assert.deepEqual(tc, { device_id: 'dev-t', op_type: 'updateTwin', version: '9', reported_patch: '{"fw":"2.0"}', desired_patch: null, event_epoch_ms: String(T + 2) });
    const events = await select<Record<string, unknown>>(`SELECT device_id, event_source, op_type, status, connection_id, ingest_node, protocol, event_epoch_ms FROM \`${db}\`.device_events ORDER BY event_epoch_ms`);
    assert.deepEqual(events, [
      { device_id: 'dev-l', event_source: 'DeviceLifecycleEvents', op_type: 'createDeviceIdentity', status: 'enabled', connection_id: '', ingest_node: '', protocol: '', event_epoch_ms: String(T + 3) },
      { device_id: 'dev-c', event_source: 'DeviceConnectionStateEvents', op_type: 'deviceConnected', status: '', connection_id: 'conn-7', ingest_node: 'node-2', protocol: 'Https', event_epoch_ms: String(T + 4) },
    ]);
  });

  it('writing the same batch again (also from a new sink, as after a restart) leaves count() exact', async () => {
    const db = newDatabase();
    const batch = await telemetryBatch(200);
    // Three records appear twice inside the batch too (a device retry with the same message id).
    const records = [...batch, batch[3]!, batch[50]!, batch[199]!];
    const first = sink(db);
    await first.connect();
    await first.writeBatch({ topic: ENDPOINT_TOPIC, partition: 0, records });
    await first.writeBatch({ topic: ENDPOINT_TOPIC, partition: 0, records });
    await first.close();
    const second = sink(db);
    await second.connect();
    // Half old, half new: only the new half is added.
    const overlap = [...batch.slice(100), ...(await telemetryBatch(100, 200))];
    await second.writeBatch({ topic: ENDPOINT_TOPIC, partition: 0, records: overlap });
    await second.close();
    assert.equal(await count(db, 'messages'), 300);
    const [distinct] = await select<{ u: string }>(`SELECT uniqExact(device_id, module_id, dedupe_id) AS u FROM \`${db}\`.messages`);
    assert.equal(Number(distinct!.u), 300);
    assert.equal(await count(db, 'messages', 'FINAL'), 300);
  });

  it('message ids with tabs, newlines, backslashes, quotes, NUL and non-ASCII are found again by the dedupe check', async () => {
    const db = newDatabase();
    const ids = ["a\tb", 'c\nd\r', 'e\\f\\', "g'h\"", 'i\u0000j', 'é😀', '\\t'];
    const records = await Promise.all(ids.flatMap((messageId, i) => ['dev-x', 'dev-y'].map((device, d) =>
      routedRecord(platform.serde, ENDPOINT_TOPIC, { ...sampleTelemetry(i, 1, T + i), connectionDeviceId: device, messageId },
        { sourceTopic: TOPICS.deviceMessagesEnriched, partition: 0, offset: 2 * i + d }, 2 * i + d))));
    const s = sink(db);
    await s.connect();
    await s.writeBatch({ topic: ENDPOINT_TOPIC, partition: 0, records });
    await s.writeBatch({ topic: ENDPOINT_TOPIC, partition: 0, records: [...records].reverse() });
    await s.close();
    // The same id on two devices is two messages; each is written once.
    assert.equal(await count(db, 'messages'), ids.length * 2);
    const stored = await select<{ message_id: string }>(`SELECT DISTINCT message_id FROM \`${db}\`.messages`);
    assert.deepEqual(stored.map((r) => r.message_id).sort(), [...ids].sort());
  });

  it('dead-letters records it cannot decode and writes the rest', async () => {
    const db = newDatabase();
    const good = await telemetryBatch(3);
    const bad: LogRecord = { ...good[0]!, offset: 99, value: Buffer.from('not avro at all') };
    const s = sink(db);
    await s.connect();
    await assert.rejects(s.writeBatch({ topic: ENDPOINT_TOPIC, partition: 0, records: [good[0]!, bad, good[1]!, good[2]!] }),
      (err: unknown) => err instanceof SinkError && !err.retriable && JSON.stringify(err.failed) === '[1]');
    await s.close();
    assert.equal(await count(db, 'messages'), 3);
  });

  it('rows ClickHouse itself rejects are isolated by splitting the insert; the others are written', async () => {
    const db = newDatabase();
    const s = sink(db);
    await s.connect();
    const layout = (await s.ensureSchema()).get('messages')!;
    const messages = await Promise.all((await telemetryBatch(10)).map((r) => decodeRouted(platform.serde, r)));
    const pending = messages.map((m, index) => ({ index, mapped: toRow(m, layout) }));
    // A lone UTF-16 surrogate survives JSON.stringify as "\ud800", which ClickHouse refuses to parse (code 25).
    for (const bad of [2, 7]) pending[bad]!.mapped.row.correlation_id = 'x\ud800';
    const rejected = await s.insertIsolating('messages', pending);
    await s.close();
    assert.deepEqual(rejected.map((r) => r.index), [2, 7]);
    assert.equal(await count(db, 'messages'), 8);
  });

  it('an INSERT that ClickHouse executed but never answered is not doubled by the retry', async () => {
    const db = newDatabase();
    const target = new URL(services.clickhouseUrl);
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 8123) });
    await proxy.start();
    const s = new ClickHouseSink(validateOptions('clickhouse', ClickHouseConfigSchema, { url: `http://127.0.0.1:${proxy.port}`, database: db, requestTimeoutMs: 2_000 }), { logger, serde: platform.serde });
    try {
      await s.connect();
      const batch = { topic: ENDPOINT_TOPIC, partition: 0, records: await telemetryBatch(40) };
      proxy.dropResponsesTo = /query=INSERT/;
      proxy.dropResponses = true;
      await assert.rejects(s.writeBatch(batch), (err: unknown) => err instanceof SinkError && err.retriable);
      assert.equal(await count(db, 'messages'), 40, 'the unanswered INSERT was executed');
      proxy.dropResponses = false;
      await s.writeBatch(batch); // the runtime's retry
      assert.equal(await count(db, 'messages'), 40);
    } finally {
      await s.close();
      await proxy.stop();
    }
  });

  it('a table dropped under the connector fails the batch as retriable and is re-created for the retry', async () => {
    const db = newDatabase();
    const s = sink(db);
    await s.connect();
    await s.writeBatch({ topic: ENDPOINT_TOPIC, partition: 0, records: await telemetryBatch(5) });
    await admin.command({ query: `DROP TABLE \`${db}\`.messages` });
    const batch = { topic: ENDPOINT_TOPIC, partition: 0, records: await telemetryBatch(7, 5) };
    await assert.rejects(s.writeBatch(batch), (err: unknown) => err instanceof SinkError && err.retriable);
    await s.writeBatch(batch);
    await s.close();
    assert.equal(await count(db, 'messages'), 7);
  });

  it('ClickHouse unreachable: connect still resolves, writes fail retriable', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address() as { port: number };
        server.close(() => resolve(address.port));
      });
    });
    const s = sink(newDatabase(), `http://127.0.0.1:${port}`);
    await s.connect();
    await assert.rejects(s.writeBatch({ topic: ENDPOINT_TOPIC, partition: 0, records: await telemetryBatch(2) }),
      (err: unknown) => err instanceof SinkError && err.retriable && /ECONNREFUSED/.test(err.message));
    await s.close();
  });

  it('through runConnector on Kafka: a second consumer group replaying the topic adds nothing', async () => {
    const db = newDatabase();
    const topic = `iot.route.${uniqueName('ch').replaceAll('.', '-')}`;
    const log = await KafkaLog.connect({ brokers: services.kafkaBrokers, clientId: 'clickhouse-int' });
    try {
      await log.createTopics([{ name: topic, partitions: 3 }]);
      await log.produce(topic, await telemetryRecords(platform.serde, topic, 500, 20));
      for (const run of [1, 2]) {
        const running = await runConnector(clickhouseConnector, {
          log, serde: platform.serde, topics: [topic], config: { url: services.clickhouseUrl, database: db }, groupId: uniqueName(`ch-int-${run}`), maxBatchRecords: 100,
        });
        try {
          await eventually(`run ${run}: 500 committed`, async () => {
            const committed = (await log.committedOffsets(running.groupId, topic)).reduce((s, o) => s + Number(o.offset), 0);
            return committed >= 500 ? true : undefined;
          });
        } finally {
          await running.stop();
        }
        assert.equal(await count(db, 'messages'), 500, `after run ${run}`);
      }
    } finally {
      await log.deleteTopics([topic]).catch(() => undefined);
      await log.close();
    }
  });

  it('ClickHouse cut off mid-stream and restored: every message lands exactly once', async () => {
    const db = newDatabase();
    const topic = `iot.route.${uniqueName('ch-outage').replaceAll('.', '-')}`;
    const target = new URL(services.clickhouseUrl);
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 8123) });
    await proxy.start();
    const retries = async () => (await metricsRegistry.getSingleMetric('tributary_connector_write_retries_total')?.get())?.values
      .filter((v) => v.labels.connector === 'clickhouse').reduce((sum, v) => sum + v.value, 0) ?? 0;
    const retriesBefore = await retries();
    const log = await KafkaLog.connect({ brokers: services.kafkaBrokers, clientId: 'clickhouse-int' });
    const total = 2000;
    try {
      await log.createTopics([{ name: topic, partitions: 3 }]);
      await log.produce(topic, await telemetryRecords(platform.serde, topic, total, 20));
      const running = await runConnector(clickhouseConnector, {
        log, serde: platform.serde, topics: [topic], groupId: uniqueName('ch-outage'), maxBatchRecords: 50,
        config: { url: `http://127.0.0.1:${proxy.port}`, database: db, requestTimeoutMs: 5_000 },
      });
      try {
        await eventually('some rows before the outage', async () => ((await count(db, 'messages')) >= 200 ? true : undefined));
        await proxy.stop();
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        await proxy.start();
        await eventually(`${total} committed`, async () => {
          const committed = (await log.committedOffsets(running.groupId, topic)).reduce((sum, o) => sum + Number(o.offset), 0);
          return committed >= total ? true : undefined;
        }, 120_000);
      } finally {
        await running.stop();
      }
      assert.ok((await retries()) > retriesBefore, 'the outage made writes fail and retry');
      assert.equal(await count(db, 'messages'), total);
      const [distinct] = await select<{ u: string }>(`SELECT uniqExact(dedupe_id) AS u FROM \`${db}\`.messages`);
      assert.equal(Number(distinct!.u), total);
    } finally {
      await proxy.stop();
      await log.deleteTopics([topic]).catch(() => undefined);
      await log.close();
    }
  });
});
