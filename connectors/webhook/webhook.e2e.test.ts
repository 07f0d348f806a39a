/**
 * End to end through the composed hub (embedded log and store): an endpoint of type `webhook` and a route added through
 * the service API; telemetry from the official device SDK over MQTT reaches a local HTTPS receiver as CloudEvents with
 * body, properties and system properties intact. The service SDK binds 443: run under `flock /tmp/tributary-443.lock`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import iothub from 'azure-iothub';
import device from 'azure-iot-device';
import deviceMqtt from 'azure-iot-device-mqtt';
import { ServiceClient } from '../../cli/service-client.ts';
import { eventually, uniqueName } from '../../test/support/services.ts';
import { startTestHub, testTlsIdentity, type TestHub } from '../../test/support/test-hub.ts';
import type { CloudEvent } from './cloud-event.ts';

let testHub: TestHub;
let receiver: Server;
let url: string;
const events: { contentType: string | undefined; event: CloudEvent }[] = [];

before(async () => {
  testHub = await startTestHub();
  const tls = await testTlsIdentity();
  receiver = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      events.push({ contentType: req.headers['content-type'], event: JSON.parse(Buffer.concat(chunks).toString('utf8')) as CloudEvent });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `https://localhost:${(receiver.address() as { port: number }).port}/hook`;
});
after(async () => {
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
  await testHub?.close();
});

test('SDK telemetry routed to a webhook endpoint arrives as Event Grid-shaped CloudEvents', async () => {
  const { hub } = testHub;
  const api = await ServiceClient.forConfig(hub.config);
  const endpoint = uniqueName('hook').replaceAll('-', '_');
  const deviceId = uniqueName('hook-dev');
  await api.call('PUT', `/endpoints/${endpoint}`, { type: 'webhook', settings: { url } });
  await api.call('PUT', `/routes/${endpoint}`, { source: 'DeviceMessages', condition: `$connectionDeviceId = '${deviceId}'`, endpointNames: [endpoint] });

  const registry = iothub.Registry.fromConnectionString(hub.serviceConnectionString);
  const key = (await registry.create({ deviceId })).responseBody.authentication!.symmetricKey!.primaryKey!;
  const client = device.Client.fromConnectionString(`HostName=localhost;DeviceId=${deviceId};SharedAccessKey=${key};GatewayHostName=localhost:${hub.mqttPort}`, deviceMqtt.Mqtt);
  await client.open();
  try {
    for (const i of [1, 2]) {
      const message = new device.Message(JSON.stringify({ i, temperature: 20 + i }));
      message.messageId = `${deviceId}-${i}`;
      message.contentType = 'application/json';
      message.contentEncoding = 'utf-8';
      message.properties.add('kind', `k${i}`);
      await client.sendEvent(message);
    }
    // Without content type and encoding Event Grid (and so this connector) cannot read the body: it goes base64.
    const binary = new device.Message(Buffer.from([1, 2, 3, 250]));
    binary.messageId = `${deviceId}-bin`;
    await client.sendEvent(binary);
  } finally {
    await client.close();
  }

  await eventually('3 events at the receiver', () => (events.length >= 3 ? true : undefined), 90_000);
  assert.equal(events.length, 3);
  const byId = new Map(events.map((e) => [e.event.id, e]));
  for (const i of [1, 2]) {
    const got = byId.get(`${deviceId}-${i}`);
    assert.ok(got, `event ${i} arrived`);
    assert.equal(got.contentType, 'application/cloudevents+json; charset=utf-8');
    const { event } = got;
    assert.equal(event.specversion, '1.0');
    assert.equal(event.type, 'Microsoft.Devices.DeviceTelemetry');
    assert.equal(event.source, `/hubs/${hub.config.hubName}/devices/${deviceId}`);
    assert.equal(event.subject, `devices/${deviceId}`);
    assert.equal(event.datacontenttype, 'application/json');
    assert.deepEqual(event.data.body, { i, temperature: 20 + i });
    assert.deepEqual(event.data.properties, { kind: `k${i}` });
    const system = event.data.systemProperties as Record<string, string>;
    assert.equal(system['iothub-connection-device-id'], deviceId);
    assert.equal(system['iothub-content-type'], 'application/json');
    assert.equal(system['iothub-content-encoding'], 'utf-8');
    assert.equal(system['iothub-message-source'], 'Telemetry');
    assert.equal(system['iothub-enqueuedtime'], event.time);
  }
  assert.equal(byId.get(`${deviceId}-bin`)?.event.data.body, Buffer.from([1, 2, 3, 250]).toString('base64'));
});
