/**
 * The official device SDK (azure-iot-device + azure-iot-device-mqtt, unmodified) against one ingest node: SAS device,
 * module, X.509 self-signed and CA-signed over MQTT/TLS, and a SAS device over MQTT/WebSockets on 443. Telemetry is
 * read back from iot.device.messages, decoded with the registered schema, and compared field by field.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import device from 'azure-iot-device';
import deviceMqtt from 'azure-iot-device-mqtt';
import { certificateThumbprint } from '../../core/auth/x509.ts';
import type { DeviceMessage } from '../../core/serde/records.ts';
import { createCertificateAuthority, createSelfSignedCertificate, issueCertificate } from '../../core/tls/index.ts';
import { eventually, uniqueName } from '../../test/support/services.ts';
import { HOST, openIngestFixture, type IngestFixture } from '../testing/ingest-fixture.ts';

const { Client, Message, ModuleClient } = device;
const { Mqtt, MqttWs } = deviceMqtt;

let fx: IngestFixture;
let received: DeviceMessage[] = [];
let expected = 0;

before(async () => {
  // X.509 connection strings ignore GatewayHostName (the SDK's X509AuthenticationProvider keeps only HostName), so
  // X.509 devices reach the hub on 8883 like real ones; e2e files run one at a time, so the fixed port is free.
  fx = await openIngestFixture({ websocketPort: 443, ingest: { mqttPort: 8883 } });
});
after(async () => {
  await fx?.close();
});

/** Waits for the next message of `deviceId` to arrive on the topic. */
async function nextMessageOf(deviceId: string, messageId: string): Promise<DeviceMessage> {
  expected++;
  return eventually(`message ${messageId} of ${deviceId}`, async () => {
    received = await fx.readMessages(expected);
    return received.find((m) => m.connectionDeviceId === deviceId && m.messageId === messageId);
  }, 30_000);
}

function richMessage(id: string): InstanceType<typeof Message> {
  const m = new Message(JSON.stringify({ temperature: 21.5, id }));
  m.messageId = id;
  m.correlationId = `corr-${id}`;
  m.userId = 'user-1';
  m.contentType = 'application/json';
  m.contentEncoding = 'utf-8';
  m.properties.add('alert level', 'high & hot');
  m.properties.add('slash/key', 'a/b=c');
  return m;
}

function assertRich(msg: DeviceMessage, id: string, deviceId: string): void {
  assert.equal(msg.messageId, id);
  assert.equal(msg.correlationId, `corr-${id}`);
  assert.equal(msg.userId, 'user-1');
  assert.equal(msg.contentType, 'application/json');
  assert.equal(msg.contentEncoding, 'utf-8');
  assert.deepEqual(msg.properties, { 'alert level': 'high & hot', 'slash/key': 'a/b=c' });
  assert.deepEqual(JSON.parse(msg.body.toString('utf8')), { temperature: 21.5, id });
  assert.equal(msg.connectionDeviceId, deviceId);
  assert.equal(msg.ingestNode, fx.ingest.gateway.nodeId);
  assert.ok(msg.enqueuedTime > Date.now() - 120_000 && msg.enqueuedTime <= Date.now());
}

describe('official SDK over MQTT/TLS', () => {
  test('SAS device: telemetry with system and application properties', async () => {
    const deviceId = uniqueName('sas');
    const identity = await fx.createSasDevice(deviceId);
    const client = Client.fromConnectionString(fx.deviceConnectionString(identity), Mqtt);
    await client.open();
    try {
      await client.sendEvent(richMessage('m-sas-1'));
      const msg = await nextMessageOf(deviceId, 'm-sas-1');
      assertRich(msg, 'm-sas-1', deviceId);
      assert.equal(msg.protocol, 'Mqtt');
      assert.equal(msg.connectionModuleId, null);
      assert.equal(msg.connectionAuthMethod, '{"scope":"device","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}');
      assert.equal(msg.connectionDeviceGenerationId, identity.generationId);
      // connectionState reaches the registry through the batched recorder.
      await eventually('Connected in the registry', async () => ((await fx.registry.getDevice(deviceId)).connectionState === 'Connected' ? true : undefined), 10_000);
    } finally {
      await client.close();
    }
    await eventually('Disconnected in the registry', async () => ((await fx.registry.getDevice(deviceId)).connectionState === 'Disconnected' ? true : undefined), 10_000);
  });

  test('module: telemetry and an output message carry the module id and output name', async () => {
    const deviceId = uniqueName('mod-dev');
    const dev = await fx.createSasDevice(deviceId);
    const mod = await fx.registry.putModule(deviceId, 'mod1', { deviceId, moduleId: 'mod1' });
    const client = ModuleClient.fromConnectionString(fx.deviceConnectionString({ ...dev, authentication: mod.authentication }, { moduleId: 'mod1' }), Mqtt);
    await client.open();
    try {
      await client.sendEvent(richMessage('m-mod-1'));
      const msg = await nextMessageOf(deviceId, 'm-mod-1');
      assertRich(msg, 'm-mod-1', deviceId);
      assert.equal(msg.connectionModuleId, 'mod1');
      assert.equal(msg.connectionAuthMethod, '{"scope":"module","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}');
      const out = new Message('out');
      out.messageId = 'm-out-1';
      await client.sendOutputEvent('output1', out);
      const outMsg = await nextMessageOf(deviceId, 'm-out-1');
      assert.equal(outMsg.outputName, 'output1');
      assert.equal(outMsg.body.toString(), 'out');
    } finally {
      await client.close();
    }
  });

  test('X.509 self-signed device (thumbprint)', async () => {
    const deviceId = uniqueName('x509-self');
    const cert = await createSelfSignedCertificate({ commonName: deviceId });
    await fx.registry.putDevice(deviceId, {
      deviceId, authentication: { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: certificateThumbprint(cert.certPem) } },
    });
    const client = Client.fromConnectionString(`HostName=${HOST};DeviceId=${deviceId};x509=true`, Mqtt);
    client.setOptions({ cert: cert.certPem, key: cert.keyPem });
    await client.open();
    try {
      await client.sendEvent(richMessage('m-x509-self'));
      const msg = await nextMessageOf(deviceId, 'm-x509-self');
      assertRich(msg, 'm-x509-self', deviceId);
      assert.match(msg.connectionAuthMethod ?? '', /"type":"x509Certificate"/);
    } finally {
      await client.close();
    }
  });

  test('X.509 CA-signed device (verified CA, CN = device id)', async () => {
    const deviceId = uniqueName('x509-ca');
    const ca = await createCertificateAuthority({ commonName: `ca-${deviceId}` });
    await fx.caStore.add(uniqueName('ca').replace(/[^A-Za-z0-9._-]/g, ''), ca.certPem, { isVerified: true });
    fx.ingest.gateway.invalidateCertificateAuthorities();
    const cert = await issueCertificate({ issuer: ca, commonName: deviceId, usage: 'client' });
    await fx.registry.putDevice(deviceId, { deviceId, authentication: { type: 'certificateAuthority' } });
    const client = Client.fromConnectionString(`HostName=${HOST};DeviceId=${deviceId};x509=true`, Mqtt);
    client.setOptions({ cert: cert.certPem, key: cert.keyPem });
    await client.open();
    try {
      await client.sendEvent(richMessage('m-x509-ca'));
      assertRich(await nextMessageOf(deviceId, 'm-x509-ca'), 'm-x509-ca', deviceId);
    } finally {
      await client.close();
    }
  });

  test('X.509 CA-signed device whose CA is not verified is refused', async () => {
    const deviceId = uniqueName('x509-unverified');
    const ca = await createCertificateAuthority({ commonName: `ca-${deviceId}` });
    await fx.caStore.add(uniqueName('ca-unv').replace(/[^A-Za-z0-9._-]/g, ''), ca.certPem);
    fx.ingest.gateway.invalidateCertificateAuthorities();
    const cert = await issueCertificate({ issuer: ca, commonName: deviceId, usage: 'client' });
    await fx.registry.putDevice(deviceId, { deviceId, authentication: { type: 'certificateAuthority' } });
    const client = Client.fromConnectionString(`HostName=${HOST};DeviceId=${deviceId};x509=true`, Mqtt);
    client.setOptions({ cert: cert.certPem, key: cert.keyPem });
    await assert.rejects(client.open(), (err: Error) => err.constructor.name === 'UnauthorizedError');
  });
});

describe('official SDK over MQTT/WebSockets (port 443)', () => {
  test('SAS device: telemetry with properties, protocol MqttWs', async () => {
    const deviceId = uniqueName('ws');
    const identity = await fx.createSasDevice(deviceId);
    const client = Client.fromConnectionString(fx.deviceConnectionString(identity, { gateway: false }), MqttWs);
    await client.open();
    try {
      await client.sendEvent(richMessage('m-ws-1'));
      const msg = await nextMessageOf(deviceId, 'm-ws-1');
      assertRich(msg, 'm-ws-1', deviceId);
      assert.equal(msg.protocol, 'MqttWs');
    } finally {
      await client.close();
    }
  });
});
