/**
 * Issue #7's "done when" for the two sinks that have no end-to-end test of their own (storage, RabbitMQ and webhook
 * have theirs in connectors/<type>/): telemetry from the official device SDK over MQTT, through the composed hub, lands
 * (a) in ClickHouse with no route set up — the built-in `events` endpoint is drained into `<database>.messages` when the
 * hub has a ClickHouse URL — and (b) on a second Kafka topic through a `kafka` endpoint and a route added with the
 * service API. Both on the real services. The service SDK binds 443: run under `flock /tmp/tributary-443.lock`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout } from 'node:timers/promises';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import iothub from 'azure-iothub';
import device from 'azure-iot-device';
import deviceMqtt from 'azure-iot-device-mqtt';
import { ServiceClient } from '../../cli/service-client.ts';
import { KafkaLog } from '../../core/log/kafka/index.ts';
import type { LogRecord } from '../../core/log/types.ts';
import type { RoutedMessageJson } from '../../connectors/kafka/index.ts';
import { eventually, services, uniqueName } from '../support/services.ts';
import { startTestHub, type TestHub } from '../support/test-hub.ts';

const ROUTER_RELOAD_MS = 2000;
const database = uniqueName('tributary_e2e').replaceAll('-', '_');
const secondTopic = uniqueName('test.e2e.connectors');
let testHub: TestHub;
let clickhouse: ClickHouseClient;
let kafka: KafkaLog;

before(async () => {
  clickhouse = createClient({ url: services.clickhouseUrl });
  kafka = await KafkaLog.connect({ brokers: services.kafkaBrokers, clientId: 'connectors-e2e' });
  testHub = await startTestHub({ env: { TRIBUTARY_CLICKHOUSE_URL: services.clickhouseUrl, TRIBUTARY_CLICKHOUSE_DATABASE: database } });
});
after(async () => {
  await testHub?.close();
  await clickhouse?.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
  await clickhouse?.close();
  await kafka?.deleteTopics([secondTopic]).catch(() => undefined);
  await kafka?.close();
});

interface Sent {
  messageId: string;
  correlationId: string;
  body: Record<string, unknown>;
  properties: Record<string, string>;
}

/** Registers a device through the service SDK and sends `count` JSON messages with the device SDK over MQTT. */
async function sendTelemetry(deviceId: string, count: number): Promise<Sent[]> {
  const { hub } = testHub;
  const registry = iothub.Registry.fromConnectionString(hub.serviceConnectionString);
  const key = (await registry.create({ deviceId })).responseBody.authentication!.symmetricKey!.primaryKey!;
  const client = device.Client.fromConnectionString(`HostName=localhost;DeviceId=${deviceId};SharedAccessKey=${key};GatewayHostName=localhost:${hub.mqttPort}`, deviceMqtt.Mqtt);
  const sent = Array.from({ length: count }, (_, i): Sent => ({
    messageId: `${deviceId}-${i}`,
    correlationId: `corr-${i}`,
    body: { seq: i, temperature: 20 + i / 4, label: `reading "${i}" ü` },
    properties: { level: i % 2 === 0 ? 'low' : 'high', 'alert-id': `a${i * 7}` },
  }));
  await client.open();
  try {
    for (const s of sent) {
      const message = new device.Message(JSON.stringify(s.body));
      message.messageId = s.messageId;
      message.correlationId = s.correlationId;
      message.contentType = 'application/json';
      message.contentEncoding = 'utf-8';
      for (const [k, v] of Object.entries(s.properties)) message.properties.add(k, v);
      await client.sendEvent(message);
    }
  } finally {
    await client.close();
  }
  return sent;
}

test('a kafka endpoint added through the service API re-publishes SDK telemetry to a second topic', async () => {
  const { hub } = testHub;
  const api = await ServiceClient.forConfig(hub.config);
  const endpoint = uniqueName('topic').replaceAll('-', '_');
  const deviceId = uniqueName('kafka-dev');
  // `brokers` makes the connector publish to the real Kafka even though this hub runs on the embedded log.
  await api.call('PUT', `/endpoints/${endpoint}`, { type: 'kafka', settings: { topic: secondTopic, brokers: services.kafkaBrokers, partitions: 2 } });
  await api.call('PUT', `/routes/${endpoint}`, { source: 'DeviceMessages', condition: `$connectionDeviceId = '${deviceId}'`, endpointNames: [endpoint] });
  await hub.connectors?.reconcile();
  // The router re-reads the route table at most every reloadIntervalMs (2 s, processors/router/router.ts): traffic in
  // the 2 s after a change may still be routed by the old table (here: to `events`), so give the change time to land.
  await setTimeout(ROUTER_RELOAD_MS + 500);

  const sent = await sendTelemetry(deviceId, 3);

  const records: LogRecord[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName('connectors-e2e-reader'), topics: [secondTopic], fromBeginning: true });
  await eventually(`${secondTopic} created by the connector`, async () => ((await kafka.listTopics()).includes(secondTopic) ? true : undefined), 90_000);
  await consumer.start(async (batch) => {
    records.push(...batch.records);
  });
  try {
    await eventually(`${sent.length} records on ${secondTopic}`, () => (records.length >= sent.length ? true : undefined), 90_000);
  } finally {
    await consumer.stop();
  }

  assert.equal(records.length, sent.length);
  const byId = new Map(records.map((r) => [(JSON.parse(r.value!.toString('utf8')) as RoutedMessageJson).messageId, r]));
  for (const s of sent) {
    const record = byId.get(s.messageId);
    assert.ok(record, `${s.messageId} on ${secondTopic}`);
    assert.equal(record.key?.toString(), deviceId, 'keyed by device id');
    const value = JSON.parse(record.value!.toString('utf8')) as RoutedMessageJson;
    assert.equal(value.deviceId, deviceId);
    assert.equal(value.endpoint, endpoint);
    assert.equal(value.bodyEncoding, 'utf-8');
    assert.deepEqual(JSON.parse(value.body), s.body);
    assert.deepEqual(value.appProperties, s.properties);
    assert.equal(value.systemProperties['correlation-id'], s.correlationId);
    assert.equal(record.headers['iothub-connection-device-id']?.toString(), deviceId);
    assert.equal(record.headers['message-id']?.toString(), s.messageId);
    assert.equal(record.headers.level?.toString(), s.properties.level);
  }
});

interface MessageRow {
  device_id: string;
  module_id: string;
  message_id: string;
  correlation_id: string;
  content_type: string;
  body_text: string | null;
  enqueued_epoch_ms: string;
  keys: string[];
  values: string[];
}

test('with a ClickHouse URL and no route, SDK telemetry lands in <database>.messages with its fields', async () => {
  const deviceId = uniqueName('ch-dev');
  const startedAt = Date.now();
  const sent = await sendTelemetry(deviceId, 3);

  // The database is this test's own, so every row in it is ours; `.keys` / `.values` read properties on both layouts.
  const rows = await eventually(`${sent.length} rows in ${database}.messages`, async () => {
    const result = await clickhouse.query({
      query: `SELECT device_id, module_id, message_id, correlation_id, content_type, body_text, enqueued_epoch_ms,
                     app_properties.keys AS keys, app_properties.values AS values
              FROM \`${database}\`.messages ORDER BY message_id`,
      format: 'JSONEachRow',
    }).catch(() => undefined); // the connector creates the table on its first connect
    const found = result ? await result.json<MessageRow>() : [];
    return found.length >= sent.length ? found : undefined;
  }, 90_000);

  assert.equal(rows.length, sent.length, 'one row per message');
  for (const [i, s] of sent.entries()) {
    const row = rows[i]!;
    assert.equal(row.device_id, deviceId);
    assert.equal(row.module_id, '');
    assert.equal(row.message_id, s.messageId);
    assert.equal(row.correlation_id, s.correlationId);
    assert.equal(row.content_type, 'application/json');
    assert.deepEqual(JSON.parse(row.body_text!), s.body);
    const properties = Object.fromEntries(row.keys.map((k, n) => [k, row.values[n]]));
    assert.deepEqual(properties, s.properties);
    const enqueued = Number(row.enqueued_epoch_ms);
    assert.ok(enqueued >= startedAt - 1000 && enqueued <= Date.now(), `enqueued at ${enqueued}`);
  }
});
