/**
 * The hub as `npm start` composes it — service API, ingest, ops endpoint on one platform — driven only by the
 * official SDKs: the back end registers a device with `azure-iothub`, the device sends telemetry with
 * `azure-iot-device` over MQTT/TLS, and the message is in `iot.device.messages`, decoded with the registered schema.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import iothub from 'azure-iothub';
import device from 'azure-iot-device';
import deviceMqtt from 'azure-iot-device-mqtt';
import { TOPICS } from '../../core/log/topics.ts';
import { certificateThumbprint } from '../../core/auth/index.ts';
import { createSelfSignedCertificate } from '../../core/tls/index.ts';
import type { DeviceMessage } from '../../core/serde/index.ts';
import { eventually, uniqueName } from '../support/services.ts';
import { startTestHub, type TestHub } from '../support/test-hub.ts';

let testHub: TestHub;
before(async () => {
  testHub = await startTestHub();
});
after(() => testHub?.close());

/** Reads iot.device.messages from the start (a throwaway group) until a message matching `match` is there. */
function findMessage(match: (m: DeviceMessage) => boolean): Promise<DeviceMessage> {
  const { log, serde } = testHub.hub.platform;
  return eventually('the message in iot.device.messages', async () => {
    const records: DeviceMessage[] = [];
    const consumer = log.consumer({ groupId: uniqueName('reader'), topics: [TOPICS.deviceMessages], fromBeginning: true });
    await consumer.start(async (batch) => {
      for (const r of batch.records) records.push(await serde.decode<DeviceMessage>(r.value!, TOPICS.deviceMessages));
    });
    await new Promise((r) => setTimeout(r, 500));
    await consumer.stop();
    return records.find(match);
  }, 30_000);
}

test('a device registered through the service SDK sends telemetry that lands in the log', async () => {
  const { hub } = testHub;
  const deviceId = uniqueName('hub-dev');
  const registry = iothub.Registry.fromConnectionString(hub.serviceConnectionString);
  const created = (await registry.create({ deviceId })).responseBody;
  const key = created.authentication!.symmetricKey!.primaryKey!;

  // The SDK takes a non-default MQTT port through GatewayHostName (iothub-wire.md §0.1).
  const cs = `HostName=localhost;DeviceId=${deviceId};SharedAccessKey=${key};GatewayHostName=localhost:${hub.mqttPort}`;
  const client = device.Client.fromConnectionString(cs, deviceMqtt.Mqtt);
  await client.open();
  try {
    const message = new device.Message(JSON.stringify({ temperature: 22.5 }));
    message.messageId = `${deviceId}-1`;
    message.contentType = 'application/json';
    message.contentEncoding = 'utf-8';
    message.properties.add('site', 'plant 7');
    await client.sendEvent(message);
  } finally {
    await client.close();
  }

  const received = await findMessage((m) => m.connectionDeviceId === deviceId);
  assert.equal(received.messageId, `${deviceId}-1`);
  assert.equal(received.contentType, 'application/json');
  assert.equal(received.properties?.site, 'plant 7');
  assert.deepEqual(JSON.parse(received.body.toString('utf8')), { temperature: 22.5 });
  assert.equal(received.protocol, 'Mqtt');

  const ready = await fetch(`http://127.0.0.1:${hub.opsPort}/readyz`);
  assert.equal(ready.status, 200);
  const metrics = await (await fetch(`http://127.0.0.1:${hub.opsPort}/metrics`)).text();
  assert.match(metrics, /^tributary_process_resident_memory_bytes/m);
});

test('an X.509 device over MQTT/WebSockets on port 443, next to the service API', async () => {
  const { hub } = testHub;
  const deviceId = uniqueName('hub-x509');
  const cert = await createSelfSignedCertificate({ commonName: deviceId });
  const registry = iothub.Registry.fromConnectionString(hub.serviceConnectionString);
  await registry.create({ deviceId, authentication: { x509Thumbprint: { primaryThumbprint: certificateThumbprint(cert.certPem) } } });

  const client = device.Client.fromConnectionString(`HostName=localhost;DeviceId=${deviceId};x509=true`, deviceMqtt.MqttWs);
  client.setOptions({ cert: cert.certPem, key: cert.keyPem });
  await client.open();
  try {
    const message = new device.Message('{"ws":true}');
    message.messageId = `${deviceId}-ws`;
    await client.sendEvent(message);
  } finally {
    await client.close();
  }
  const received = await findMessage((m) => m.messageId === `${deviceId}-ws`);
  assert.equal(received.protocol, 'MqttWs');
  assert.match(received.connectionAuthMethod ?? '', /"type":"x509Certificate","issuer":"self"/);
});
