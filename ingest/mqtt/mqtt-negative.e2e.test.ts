/**
 * Refusals (iothub-wire.md §2.8, DESIGN.md §7): wrong key, expired token, disabled device, another device's topic,
 * QoS 2, oversized payload, too many subscriptions, malformed bytes. Each closes only the offending connection; a
 * healthy device on the same node keeps being served, and everything that was PUBACKed is on the topic.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import device from 'azure-iot-device';
import deviceMqtt from 'azure-iot-device-mqtt';
import type { MqttClient } from 'mqtt';
import type { DeviceJson } from '../../core/registry/index.ts';
import { TOPICS } from '../../core/log/topics.ts';
import type { DeviceLifecycleEvent } from '../../core/serde/records.ts';
import { eventually, uniqueName } from '../../test/support/services.ts';
import { openIngestFixture, type IngestFixture } from '../testing/ingest-fixture.ts';
import { closedByServer, deviceToken, rawConnect, rawTlsSocket } from '../testing/raw-client.ts';

const { Client, Message } = device;
const { Mqtt } = deviceMqtt;

let fx: IngestFixture;
let healthy: InstanceType<typeof Client>;
let healthyId: string;
let healthySent = 0;
let victim: DeviceJson;

before(async () => {
  fx = await openIngestFixture();
  healthyId = uniqueName('healthy');
  healthy = Client.fromConnectionString(fx.deviceConnectionString(await fx.createSasDevice(healthyId)), Mqtt);
  await healthy.open();
  victim = await fx.createSasDevice(uniqueName('victim'));
});
after(async () => {
  await healthy?.close();
  await fx?.close();
});

/** The healthy device still gets its messages through (and PUBACKed) after each refusal. */
async function stillServing(): Promise<void> {
  const m = new Message(`ok ${healthySent}`);
  m.messageId = `healthy-${healthySent++}`;
  await healthy.sendEvent(m);
}

async function rawDevice(): Promise<{ client: MqttClient; identity: DeviceJson }> {
  const identity = await fx.createSasDevice(uniqueName('raw'));
  const client = await rawConnect({ port: fx.ingest.mqttPort, deviceId: identity.deviceId, password: deviceToken(identity.deviceId, identity.authentication.symmetricKey.primaryKey ?? '') });
  return { client, identity };
}

const connackCode = (err: unknown) => (err as { code?: number }).code;

describe('connect refusals', () => {
  test('wrong key: the SDK gets UnauthorizedError; CONNACK 4', async () => {
    const wrongKey = Buffer.alloc(32, 7).toString('base64');
    const client = Client.fromConnectionString(fx.deviceConnectionString(victim, { key: wrongKey }), Mqtt);
    await assert.rejects(client.open(), (err: Error) => err.constructor.name === 'UnauthorizedError');
    await assert.rejects(rawConnect({ port: fx.ingest.mqttPort, deviceId: victim.deviceId, password: deviceToken(victim.deviceId, wrongKey) }), (err) => connackCode(err) === 4);
    await stillServing();
  });

  test('expired token: CONNACK 4', async () => {
    const expired = deviceToken(victim.deviceId, victim.authentication.symmetricKey.primaryKey ?? '', { expiresAt: Math.floor(Date.now() / 1000) - 10 });
    await assert.rejects(rawConnect({ port: fx.ingest.mqttPort, deviceId: victim.deviceId, password: expired }), (err) => connackCode(err) === 4);
    await stillServing();
  });

  test('disabled and unknown devices: CONNACK 5, UnauthorizedError in the SDK', async () => {
    const id = uniqueName('disabled');
    const disabled = await fx.registry.putDevice(id, { deviceId: id, status: 'disabled' });
    const client = Client.fromConnectionString(fx.deviceConnectionString(disabled), Mqtt);
    await assert.rejects(client.open(), (err: Error) => err.constructor.name === 'UnauthorizedError');
    const key = disabled.authentication.symmetricKey.primaryKey ?? '';
    await assert.rejects(rawConnect({ port: fx.ingest.mqttPort, deviceId: id, password: deviceToken(id, key) }), (err) => connackCode(err) === 5);
    await assert.rejects(rawConnect({ port: fx.ingest.mqttPort, deviceId: 'nobody', password: deviceToken('nobody', key) }), (err) => connackCode(err) === 5);
    await stillServing();
  });

  test('disabling a connected device closes its connection', async () => {
    const { client, identity } = await rawDevice();
    const closed = closedByServer(client);
    await fx.registry.putDevice(identity.deviceId, { deviceId: identity.deviceId, status: 'disabled' }, '*');
    await closed;
    await stillServing();
  });

  test('a device disabled by another process (a lifecycle event on the log) is closed too', async () => {
    const { client, identity } = await rawDevice();
    const closed = closedByServer(client);
    // What another node's registry publishes after its transaction; this process's registry never hears of it.
    const event: DeviceLifecycleEvent = { opType: 'updateDeviceIdentity', deviceId: identity.deviceId, status: 'disabled', operationTime: Date.now() };
    await fx.platform.log.produce(TOPICS.deviceLifecycle, [{ key: identity.deviceId, value: await fx.platform.serde.encode(TOPICS.deviceLifecycle, event) }]);
    await closed;
    await stillServing();
  });
});

describe('publish and subscribe refusals close only that connection', () => {
  test("another device's topic (publish and subscribe)", async () => {
    const a = await rawDevice();
    const closed = closedByServer(a.client);
    a.client.publish(`devices/${victim.deviceId}/messages/events/%24.mid=forged`, 'forged', { qos: 1 });
    await closed;
    const b = await rawDevice();
    const closedB = closedByServer(b.client);
    b.client.subscribe(`devices/${victim.deviceId}/messages/devicebound/#`, { qos: 1 });
    await closedB;
    await stillServing();
    const messages = await fx.readMessages(healthySent);
    assert.equal(messages.filter((m) => m.messageId === 'forged').length, 0);
  });

  test('QoS 2 publish', async () => {
    const { client, identity } = await rawDevice();
    const closed = closedByServer(client);
    client.publish(`devices/${identity.deviceId}/messages/events/%24.mid=qos2`, 'x', { qos: 2 });
    await closed;
    await stillServing();
  });

  test('oversized payload (over 256 KB, under and over the packet cap)', async () => {
    for (const size of [257 * 1024, 2 * 1024 * 1024]) {
      const { client, identity } = await rawDevice();
      const closed = closedByServer(client);
      client.publish(`devices/${identity.deviceId}/messages/events/%24.mid=big`, Buffer.alloc(size, 1), { qos: 1 });
      await closed;
    }
    await stillServing();
    const messages = await fx.readMessages(healthySent);
    assert.equal(messages.filter((m) => m.messageId === 'big').length, 0);
  });

  test('QoS 2 subscriptions are granted as 1; re-subscribing does not add a subscription', async () => {
    // IoT Hub's namespace has only four distinct filters per identity, so the limit of 5 cannot be reached with
    // valid filters; invalid ones close the connection first (see "another device's topic").
    const { client, identity } = await rawDevice();
    const granted = await client.subscribeAsync(`devices/${identity.deviceId}/messages/devicebound/#`, { qos: 2 });
    assert.equal(granted[0]?.qos, 1);
    for (const t of ['$iothub/methods/POST/#', '$iothub/twin/res/#', '$iothub/twin/PATCH/properties/desired/#', '$iothub/twin/res/#']) {
      const g = await client.subscribeAsync(t, { qos: 1 });
      assert.equal(g[0]?.qos, 1);
    }
    assert.equal(client.connected, true);
    const closed = closedByServer(client);
    client.subscribe('devices/x/modules/y/inputs/#', { qos: 1 });
    await closed;
    await stillServing();
  });

  test('malformed packet bytes', async () => {
    const socket = await rawTlsSocket(fx.ingest.mqttPort);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // A CONNECT header whose protocol name is garbage, then noise.
    socket.write(Buffer.from([0x10, 0x0a, 0x00, 0x04, 0x58, 0x59, 0x5a, 0x57, 0x04, 0x02, 0x00, 0x3c, 0xff, 0xff]));
    await closed;
    const socket2 = await rawTlsSocket(fx.ingest.mqttPort);
    const closed2 = new Promise<void>((resolve) => socket2.once('close', () => resolve()));
    socket2.write(Buffer.from([0xf0, 0xff, 0xff, 0xff, 0xff, 0x7f])); // reserved type, broken length
    await closed2;
    await stillServing();
  });

  test('everything PUBACKed to the healthy device is on the topic', async () => {
    const messages = await fx.readMessages(healthySent);
    const ids = new Set(messages.filter((m) => m.connectionDeviceId === healthyId).map((m) => m.messageId));
    for (let i = 0; i < healthySent; i++) assert.ok(ids.has(`healthy-${i}`), `healthy-${i} missing`);
    await eventually('no connection left but the healthy one', () => (fx.ingest.connectionCount() === 1 ? true : undefined), 10_000);
  });
});
