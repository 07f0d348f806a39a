/**
 * MQTT 5 clients on IoT Hub's topics (docs/mqtt.md, mqtt5.ts), driven with MQTT.js at protocol level 5 over TLS against
 * a real ingest node (EmbeddedLog, MQTT on a free port): SAS connect and the CONNACK's announced limits, telemetry
 * whose v5 properties land in the record next to the topic bag's, reason codes where 3.1.1 could only close (CONNACK,
 * PUBACK, SUBACK, DISCONNECT), C2D with the application properties as User Properties, and v5 session expiry.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, parser as packetParser, type Packet } from 'mqtt-packet';
import mqtt, { type IClientOptions, type IConnackPacket, type IDisconnectPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import { TOPICS } from '../../core/log/topics.ts';
import type { Consumer } from '../../core/log/types.ts';
import type { DeviceJson } from '../../core/registry/index.ts';
import type { CloudCommand, DeviceMessage } from '../../core/serde/records.ts';
import { eventually, uniqueName } from '../../test/support/services.ts';
import { decodeMessages, HOST, openIngestFixture, type IngestFixture } from '../testing/ingest-fixture.ts';
import { closedByServer, deviceToken, rawTlsSocket } from '../testing/raw-client.ts';
import { DEFAULT_MAX_PACKET_BYTES } from './packet-reader.ts';

let fx: IngestFixture;
let consumer: Consumer;
const received: DeviceMessage[] = [];

before(async () => {
  fx = await openIngestFixture();
  consumer = fx.platform.log.consumer({ groupId: uniqueName('mqtt5-reader'), topics: [TOPICS.deviceMessages], fromBeginning: true });
  await consumer.start(async (batch) => {
    received.push(...await decodeMessages(fx.platform.serde, batch.records.map((r) => r.value)));
  });
});
after(async () => {
  await consumer?.stop();
  await fx?.close();
});

const keyOf = (d: DeviceJson) => d.authentication.symmetricKey.primaryKey ?? '';

/** Connects at level 5; resolves with the client and its CONNACK, or rejects with MQTT.js's error (`code` = reason). */
function connect5(deviceId: string, password: string, options: IClientOptions = {}): Promise<{ client: MqttClient; connack: IConnackPacket }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(`mqtts://${HOST}:${fx.ingest.mqttPort}`, {
      protocolVersion: 5, clientId: deviceId, username: `${HOST}/${deviceId}/?api-version=2021-04-12`, password,
      clean: true, keepalive: 60, reconnectPeriod: 0, connectTimeout: 10_000, ...options,
    });
    client.once('connect', (connack) => resolve({ client, connack }));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

async function device5(prefix: string, options: IClientOptions = {}): Promise<{ client: MqttClient; connack: IConnackPacket; deviceId: string }> {
  const deviceId = uniqueName(prefix);
  const identity = await fx.createSasDevice(deviceId);
  return { ...await connect5(deviceId, deviceToken(deviceId, keyOf(identity)), options), deviceId };
}

/** The reason code of a rejected MQTT.js publish / connect. */
const reasonOf = (err: unknown) => (err as { code?: number }).code;

async function sendCommand(command: Partial<CloudCommand> & { deviceId: string }): Promise<void> {
  const record: CloudCommand = { kind: 'C2DMessage', commandId: uniqueName('cmd'), enqueuedTime: Date.now(), ...command };
  const value = await fx.platform.serde.encode(TOPICS.cloudCommands, record);
  await fx.platform.log.produce(TOPICS.cloudCommands, [{ key: record.deviceId, value }]);
}

describe('connect', () => {
  test('SAS at level 5: CONNACK 0x00 announcing QoS 1, no topic aliases and the packet cap', async () => {
    const { client, connack } = await device5('v5conn');
    try {
      assert.equal(connack.reasonCode, 0);
      assert.equal(connack.sessionPresent, false);
      assert.equal(connack.properties?.maximumQoS, 1);
      assert.equal(connack.properties?.topicAliasMaximum, 0);
      assert.equal(connack.properties?.maximumPacketSize, DEFAULT_MAX_PACKET_BYTES);
      assert.equal(connack.properties?.subscriptionIdentifiersAvailable, false);
      assert.equal(connack.properties?.serverKeepAlive, undefined, 'a 60 s keep-alive is honoured as sent');
    } finally {
      await client.endAsync();
    }
    const noKeepAlive = await device5('v5ka', { keepalive: 0 });
    assert.equal(noKeepAlive.connack.properties?.serverKeepAlive, 1177);
    await noKeepAlive.client.endAsync();
  });

  test('wrong key: CONNACK 0x86; unknown device: CONNACK 0x87', async () => {
    const deviceId = uniqueName('v5bad');
    await fx.createSasDevice(deviceId);
    const wrongKey = Buffer.alloc(32, 7).toString('base64');
    await assert.rejects(connect5(deviceId, deviceToken(deviceId, wrongKey)), (err) => reasonOf(err) === 0x86);
    await assert.rejects(connect5('v5-nobody', deviceToken('v5-nobody', wrongKey)), (err) => reasonOf(err) === 0x87);
  });

  test('a newer connection of the same device gets the older one a DISCONNECT 0x8E', async () => {
    const deviceId = uniqueName('v5kick');
    const token = deviceToken(deviceId, keyOf(await fx.createSasDevice(deviceId)));
    const first = await connect5(deviceId, token);
    const disconnect = new Promise<IDisconnectPacket>((resolve) => first.client.once('disconnect', resolve));
    const second = await connect5(deviceId, token);
    assert.equal((await disconnect).reasonCode, 0x8e);
    await second.client.endAsync();
    first.client.end(true);
  });

  test('Session Expiry Interval > 0 keeps subscriptions like CleanSession 0; 0 ends the session with the connection', async () => {
    const deviceId = uniqueName('v5sess');
    const token = deviceToken(deviceId, keyOf(await fx.createSasDevice(deviceId)));
    const kept = await connect5(deviceId, token, { clean: false, properties: { sessionExpiryInterval: 3600 } });
    await kept.client.subscribeAsync(`devices/${deviceId}/messages/devicebound/#`, { qos: 1 });
    await kept.client.endAsync();
    const resumed = await connect5(deviceId, token, { clean: false, properties: { sessionExpiryInterval: 0 } });
    assert.equal(resumed.connack.sessionPresent, true);
    // Resumed with expiry 0: delivered to now, but gone once this connection ends.
    const got: string[] = [];
    resumed.client.on('message', (topic) => got.push(topic));
    await sendCommand({ deviceId, messageId: 'resumed' });
    await eventually('C2D on the resumed subscription', () => (got.length > 0 ? true : undefined), 15_000);
    await resumed.client.endAsync();
    const after = await connect5(deviceId, token, { clean: false });
    assert.equal(after.connack.sessionPresent, false);
    await after.client.endAsync();
  });

  test('DISCONNECT with reason 0x04 still sends the Will, as telemetry with iothub-MessageType=Will', async () => {
    const deviceId = uniqueName('v5will');
    const token = deviceToken(deviceId, keyOf(await fx.createSasDevice(deviceId)));
    const mid = uniqueName('will');
    const { client } = await connect5(deviceId, token, { will: { topic: `devices/${deviceId}/messages/events/%24.mid=${mid}`, payload: Buffer.from('gone'), qos: 1, retain: false } });
    await new Promise<void>((resolve) => client.end(false, { reasonCode: 0x04 }, () => resolve()));
    const will = await eventually('the Will on the log', () => received.find((r) => r.messageId === mid), 15_000);
    assert.equal(will.body.toString(), 'gone');
    assert.equal(will.properties?.['iothub-MessageType'], 'Will');
  });
});

describe('publish', () => {
  test('user properties, content type, correlation data and expiry land in the record; the topic bag wins', async () => {
    const { client, deviceId } = await device5('v5pub');
    const mid = uniqueName('mid');
    const sentAt = Date.now();
    try {
      await client.publishAsync(`devices/${deviceId}/messages/events/%24.mid=${mid}&fromBag=1&shared=bag`, '{"t":21.5}', {
        qos: 1,
        properties: {
          userProperties: { color: 'red', shared: 'v5', 'with space': 'a&b/c' }, contentType: 'application/json',
          correlationData: Buffer.from('corr-ü'), messageExpiryInterval: 3600, payloadFormatIndicator: true,
        },
      });
    } finally {
      await client.endAsync();
    }
    const m = await eventually('the record', () => received.find((r) => r.messageId === mid), 15_000);
    assert.equal(m.body.toString(), '{"t":21.5}');
    assert.deepEqual({ ...m.properties }, { fromBag: '1', shared: 'bag', color: 'red', 'with space': 'a&b/c' });
    assert.equal(m.contentType, 'application/json');
    assert.equal(m.contentEncoding, 'utf-8');
    assert.equal(m.correlationId, 'corr-ü');
    assert.equal(m.connectionDeviceId, deviceId);
    assert.equal(m.protocol, 'Mqtt');
    // Message Expiry Interval → expiry time: arrival + 3600 s (whole milliseconds between send and the record).
    assert.ok(m.expiryTime !== null && m.expiryTime !== undefined);
    assert.ok(m.expiryTime >= sentAt + 3600_000 && m.expiryTime <= m.enqueuedTime + 3600_000, `expiry ${m.expiryTime}`);
  });

  test('QoS 1 refusals are PUBACK reason codes and the connection stays: 0x87, 0x90, 0x97 (over 256 KB)', async () => {
    const { client, deviceId } = await device5('v5refuse');
    try {
      await assert.rejects(client.publishAsync('devices/someone-else/messages/events/', 'x', { qos: 1 }), (err) => reasonOf(err) === 0x87);
      await assert.rejects(client.publishAsync('not/an/iothub/topic', 'x', { qos: 1 }), (err) => reasonOf(err) === 0x90);
      await assert.rejects(client.publishAsync(`devices/${deviceId}/messages/events/`, Buffer.alloc(300 * 1024), { qos: 1 }), (err) => reasonOf(err) === 0x97);
      const mid = uniqueName('after');
      await client.publishAsync(`devices/${deviceId}/messages/events/%24.mid=${mid}`, 'still here', { qos: 1 });
      assert.ok(client.connected);
      const m = await eventually('the message after the refusals', () => received.find((r) => r.messageId === mid), 15_000);
      assert.equal(m.body.toString(), 'still here');
      assert.equal(received.filter((r) => r.connectionDeviceId === deviceId).length, 1, 'nothing refused reached the log');
    } finally {
      await client.endAsync();
    }
  });

  test('QoS 2: DISCONNECT 0x9B, then the connection closes', async () => {
    const { client, deviceId } = await device5('v5qos2');
    const disconnect = new Promise<IDisconnectPacket>((resolve) => client.once('disconnect', resolve));
    const closed = closedByServer(client);
    client.publish(`devices/${deviceId}/messages/events/`, 'exactly once?', { qos: 2 });
    assert.equal((await disconnect).reasonCode, 0x9b);
    await closed;
    client.end(true);
  });

  test('a topic alias (the CONNACK said Topic Alias Maximum 0): DISCONNECT 0x94', async () => {
    // Raw bytes: MQTT.js itself refuses to send an alias the server did not allow.
    const deviceId = uniqueName('v5alias');
    const token = deviceToken(deviceId, keyOf(await fx.createSasDevice(deviceId)));
    const socket = await rawTlsSocket(fx.ingest.mqttPort);
    const packets: Packet[] = [];
    const reader = packetParser({ protocolVersion: 5 });
    reader.on('packet', (p: Packet) => packets.push(p));
    socket.on('data', (d: Buffer) => reader.parse(d));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    try {
      socket.write(generate({
        cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: deviceId, clean: true, keepalive: 60,
        username: `${HOST}/${deviceId}/?api-version=2021-04-12`, password: Buffer.from(token),
      }, { protocolVersion: 5 }));
      await eventually('CONNACK', () => packets.find((p) => p.cmd === 'connack'), 10_000);
      socket.write(generate({
        cmd: 'publish', topic: `devices/${deviceId}/messages/events/`, payload: Buffer.from('x'), qos: 0, retain: false, dup: false,
        properties: { topicAlias: 1 },
      }, { protocolVersion: 5 }));
      const disconnect = await eventually('DISCONNECT', () => packets.find((p): p is IDisconnectPacket => p.cmd === 'disconnect'), 10_000);
      assert.equal(disconnect.reasonCode, 0x94);
      await closed;
    } finally {
      socket.destroy();
    }
  });
});

describe('subscribe and C2D', () => {
  test('SUBACK reason codes per filter; refused filters leave the connection and the other filters standing', async () => {
    const { client, deviceId } = await device5('v5sub');
    try {
      const err = await client.subscribeAsync({
        [`devices/${deviceId}/messages/devicebound/#`]: { qos: 1 },
        'devices/someone-else/messages/devicebound/#': { qos: 1 },
        'foo/#': { qos: 0 },
        '$iothub/methods/POST/#': { qos: 2 },
      }).then(() => undefined, (e: unknown) => e as { packet?: { granted?: number[] } });
      assert.deepEqual(err?.packet?.granted, [0x01, 0x87, 0x8f, 0x01]);
      const more = await client.subscribeAsync(['$iothub/twin/res/#', '$iothub/twin/PATCH/properties/desired/#'], { qos: 0 });
      assert.deepEqual(more.map((g) => g.qos), [0, 0]);
      assert.ok(client.connected);
      assert.ok(fx.ingest.gateway.connections.get({ deviceId }), 'still the live connection');
    } finally {
      await client.endAsync();
    }
  });

  test('a C2D message arrives on the same topic and bag, with its application properties as User Properties', async () => {
    const { client, deviceId } = await device5('v5c2d');
    const messages: Array<{ topic: string; payload: string; packet: IPublishPacket }> = [];
    client.on('message', (topic, payload, packet) => messages.push({ topic, payload: payload.toString(), packet }));
    try {
      await client.subscribeAsync(`devices/${deviceId}/messages/devicebound/#`, { qos: 1 });
      await sendCommand({
        deviceId, messageId: 'c2d-5', correlationId: 'corr-5', contentType: 'application/json', properties: { prop1: 'val 1', 'a/b': 'c&d' },
        body: Buffer.from('{"hello":5}'),
      });
      const got = await eventually('the C2D message', () => messages[0], 15_000);
      assert.equal(got.topic, `devices/${deviceId}/messages/devicebound/%24.mid=c2d-5&%24.ct=application%2Fjson&%24.cid=corr-5&prop1=val%201&a%2Fb=c%26d`);
      assert.equal(got.payload, '{"hello":5}');
      assert.equal(got.packet.qos, 1);
      assert.deepEqual({ ...got.packet.properties?.userProperties }, { prop1: 'val 1', 'a/b': 'c&d' });
      assert.equal(got.packet.properties?.contentType, 'application/json');
      assert.equal(got.packet.properties?.correlationData?.toString(), 'corr-5');
    } finally {
      await client.endAsync();
    }
  });
});
