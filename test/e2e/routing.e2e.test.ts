/**
 * Routing through the composed hub: a route and a custom endpoint added through the service API take effect without
 * a restart; telemetry from the official device SDK is enriched and lands in exactly the endpoint its body selects,
 * and the fallback route takes the rest to `events`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import iothub from 'azure-iothub';
import device from 'azure-iot-device';
import deviceMqtt from 'azure-iot-device-mqtt';
import type { LogRecord } from '../../core/log/types.ts';
import { routeTopic } from '../../core/log/topics.ts';
import type { EnrichedDeviceMessage, ForwardedRecord } from '../../core/serde/index.ts';
import { ServiceClient } from '../../cli/service-client.ts';
import { eventually, services, uniqueName } from '../support/services.ts';
import { startTestHub, type TestHub } from '../support/test-hub.ts';


/** Everything in `topic` up to its current end (works the same on Kafka, where a group join takes seconds). */
async function readAll(testHub: TestHub, topic: string): Promise<LogRecord[]> {
  const { log } = testHub.hub.platform;
  if (!(await log.listTopics()).includes(topic)) return [];
  const end = await log.endOffsets(topic);
  const records: LogRecord[] = [];
  const position = new Map<number, number>();
  const consumer = log.consumer({ groupId: uniqueName('reader'), topics: [topic], fromBeginning: true });
  await consumer.start(async (batch) => {
    records.push(...batch.records);
    position.set(batch.partition, batch.nextOffset);
  });
  try {
    await eventually(`${topic} read to its end`, () => (end.every((e) => e.offset === 0 || (position.get(e.partition) ?? 0) >= e.offset) ? true : undefined), 60_000);
  } finally {
    await consumer.stop();
  }
  return records;
}

// Embedded defaults, and real infrastructure (Kafka, the Schema Registry, PostgreSQL) as a scaled-out hub runs it.
const modes = {
  embedded: {},
  'Kafka + Schema Registry + PostgreSQL': { TRIBUTARY_KAFKA_BROKERS: services.kafkaBrokers.join(','), TRIBUTARY_SCHEMA_REGISTRY_URL: services.schemaRegistryUrl },
};
for (const [mode, env] of Object.entries(modes)) {
  describe(`routing on ${mode}`, () => {
    let testHub: TestHub;
    before(async () => {
      testHub = await startTestHub({ env, ...(mode === 'embedded' ? {} : { store: 'postgres' as const }) });
    });
    after(() => testHub?.close());

    test('a route added through the API sends hot telemetry to its endpoint; the fallback takes the rest', async () => {
      const { hub } = testHub;
      const api = await ServiceClient.forConfig(hub.config);
      const endpoint = uniqueName('alerts').replaceAll('-', '_');
      await api.call('PUT', `/endpoints/${endpoint}`, { type: 'kafka' });
      await api.call('PUT', '/routes/hot', { source: 'DeviceMessages', condition: '$body.temperature > 30', endpointNames: [endpoint] });
      await assert.rejects(api.call('PUT', '/routes/broken', { source: 'DeviceMessages', condition: '$body.temperature >', endpointNames: [endpoint] }), { code: 'ArgumentInvalid' });

      const deviceId = uniqueName('route-dev');
      const registry = iothub.Registry.fromConnectionString(hub.serviceConnectionString);
      const key = (await registry.create({ deviceId })).responseBody.authentication!.symmetricKey!.primaryKey!;
      const client = device.Client.fromConnectionString(`HostName=localhost;DeviceId=${deviceId};SharedAccessKey=${key};GatewayHostName=localhost:${hub.mqttPort}`, deviceMqtt.Mqtt);
      await client.open();
      try {
        for (const [id, temperature] of [['hot-1', 35], ['cold-1', 20]] as const) {
          const message = new device.Message(JSON.stringify({ temperature }));
          message.messageId = `${deviceId}-${id}`;
          message.contentType = 'application/json';
          message.contentEncoding = 'utf-8';
          await client.sendEvent(message);
        }
      } finally {
        await client.close();
      }

      const idsIn = async (topic: string) => {
        const ids: string[] = [];
        for (const record of await readAll(testHub, topic)) {
          const forwarded = await hub.platform.serde.decode<ForwardedRecord>(record.value!);
          const message = await hub.platform.serde.decode<EnrichedDeviceMessage>(forwarded.value!);
          if (message.connectionDeviceId === deviceId) ids.push(message.messageId!.slice(deviceId.length + 1));
        }
        return ids.sort();
      };
      await eventually('both messages routed', async () => ((await idsIn(routeTopic(endpoint))).length + (await idsIn(routeTopic('events'))).length >= 2 ? true : undefined), 60_000);
      assert.deepEqual(await idsIn(routeTopic(endpoint)), ['hot-1']);
      assert.deepEqual(await idsIn(routeTopic('events')), ['cold-1'], 'the fallback route takes what no route matched');
    });
  });
}
