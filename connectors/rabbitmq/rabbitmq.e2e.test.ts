/**
 * End to end through the composed hub (embedded log and store, the real RabbitMQ): an endpoint of type `rabbitmq` and
 * a route added through the service API; telemetry from the official device SDK over MQTT arrives in the queue with
 * its body, message id, content type and application properties intact. The service SDK binds 443: run under
 * `flock /tmp/tributary-443.lock`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import iothub from 'azure-iothub';
import device from 'azure-iot-device';
import deviceMqtt from 'azure-iot-device-mqtt';
import { connect, type ChannelModel, type GetMessage } from 'amqplib';
import { ServiceClient } from '../../cli/service-client.ts';
import { eventually, services, uniqueName } from '../../test/support/services.ts';
import { startTestHub, type TestHub } from '../../test/support/test-hub.ts';

let testHub: TestHub;
let admin: ChannelModel;
const queue = uniqueName('tributary-e2e-q');

before(async () => {
  testHub = await startTestHub({ env: { TRIBUTARY_AMQP_URL: services.amqpUrl } });
  admin = await connect(services.amqpUrl);
});
after(async () => {
  const channel = await admin.createChannel();
  await channel.deleteQueue(queue).catch(() => {});
  await admin.close();
  await testHub?.close();
});

test('SDK telemetry routed to a rabbitmq endpoint arrives in the queue with its properties', async () => {
  const { hub } = testHub;
  const api = await ServiceClient.forConfig(hub.config);
  const endpoint = uniqueName('rmq').replaceAll('-', '_');
  const deviceId = uniqueName('rmq-dev');
  await api.call('PUT', `/endpoints/${endpoint}`, { type: 'rabbitmq', settings: { queue } });
  await api.call('PUT', `/routes/${endpoint}`, { source: 'DeviceMessages', condition: `$connectionDeviceId = '${deviceId}'`, endpointNames: [endpoint] });

  const registry = iothub.Registry.fromConnectionString(hub.serviceConnectionString);
  const key = (await registry.create({ deviceId })).responseBody.authentication!.symmetricKey!.primaryKey!;
  const client = device.Client.fromConnectionString(`HostName=localhost;DeviceId=${deviceId};SharedAccessKey=${key};GatewayHostName=localhost:${hub.mqttPort}`, deviceMqtt.Mqtt);
  await client.open();
  const sent = [1, 2, 3].map((i) => {
    const message = new device.Message(JSON.stringify({ i, temperature: 20 + i }));
    message.messageId = `${deviceId}-${i}`;
    message.correlationId = `corr-${i}`;
    message.contentType = 'application/json';
    message.contentEncoding = 'utf-8';
    message.properties.add('kind', i % 2 === 0 ? 'even' : 'odd');
    return message;
  });
  try {
    for (const message of sent) await client.sendEvent(message);
  } finally {
    await client.close();
  }

  const got: GetMessage[] = [];
  await eventually('3 messages in the queue', async () => {
    // The connector declares the queue once the supervisor started it; until then a get fails (and closes its channel).
    const channel = await admin.createChannel();
    channel.on('error', () => {});
    try {
      for (let m = await channel.get(queue, { noAck: true }); m; m = await channel.get(queue, { noAck: true })) got.push(m);
    } catch {
      return undefined;
    } finally {
      await channel.close().catch(() => {});
    }
    return got.length >= 3 ? true : undefined;
  }, 90_000);
  assert.equal(got.length, 3);
  for (const [n, m] of got.sort((a, b) => String(a.properties.messageId).localeCompare(String(b.properties.messageId))).entries()) {
    const i = n + 1;
    assert.deepEqual(JSON.parse(m.content.toString('utf8')), { i, temperature: 20 + i });
    assert.equal(m.properties.messageId, `${deviceId}-${i}`);
    assert.equal(m.properties.correlationId, `corr-${i}`);
    assert.equal(m.properties.contentType, 'application/json');
    assert.equal(m.properties.contentEncoding, 'utf-8');
    assert.equal(m.properties.deliveryMode, 2);
    assert.equal(m.properties.headers?.kind, i % 2 === 0 ? 'even' : 'odd');
    assert.equal(m.properties.headers?.['iothub-connection-device-id'], deviceId);
    assert.equal(m.properties.headers?.['iothub-message-source'], 'Telemetry');
    assert.ok(Date.parse(String(m.properties.headers?.['iothub-enqueuedtime'])) > Date.now() - 10 * 60_000);
    assert.equal(m.properties.headers?.['tributary-endpoint'], endpoint);
  }
});
