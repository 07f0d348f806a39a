/**
 * The device-bound path and persistent sessions (iothub-wire.md §0.4, §2.4, §2.8): a CloudCommand produced to
 * iot.cloud.commands reaches a connected SDK client as a C2D message with its properties — also after the SDK's
 * token-renewal reconnect, which re-subscribes to nothing — and a CleanSession 0 session follows a device to another
 * ingest node (two nodes on one log and store, as behind a load balancer), where the newer connection wins.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import device from 'azure-iot-device';
import deviceMqtt from 'azure-iot-device-mqtt';
import { TOPICS } from '../../core/log/topics.ts';
import type { CloudCommand } from '../../core/serde/records.ts';
import { eventually, uniqueName } from '../../test/support/services.ts';
import { openIngestFixture, type IngestFixture } from '../testing/ingest-fixture.ts';
import { closedByServer, deviceToken, rawConnect } from '../testing/raw-client.ts';

const { Client, SharedAccessKeyAuthenticationProvider } = device;
const { Mqtt } = deviceMqtt;
type SdkMessage = InstanceType<typeof device.Message>;

let fx: IngestFixture;

before(async () => {
  fx = await openIngestFixture();
});
after(async () => {
  await fx?.close();
});

async function sendCommand(command: Partial<CloudCommand> & { deviceId: string }): Promise<void> {
  const record: CloudCommand = { kind: 'C2DMessage', commandId: uniqueName('cmd'), enqueuedTime: Date.now(), ...command };
  const value = await fx.platform.serde.encode(TOPICS.cloudCommands, record);
  await fx.platform.log.produce(TOPICS.cloudCommands, [{ key: record.deviceId, value }]);
}

async function subscribedToC2d(clientId: string): Promise<void> {
  await eventually(`C2D subscription of ${clientId}`, async () => {
    const subs = await fx.ingest.gateway.sessions.load(clientId);
    return subs?.some((s) => s.topic.endsWith('/messages/devicebound/#')) ? true : undefined;
  }, 15_000);
}

describe('C2D delivery to the official SDK', () => {
  test('a command record arrives as a C2D message with its properties, also after a token-renewal reconnect', async () => {
    const deviceId = uniqueName('c2d');
    const identity = await fx.createSasDevice(deviceId);
    const provider = SharedAccessKeyAuthenticationProvider.fromConnectionString(fx.deviceConnectionString(identity));
    const client = Client.fromAuthenticationProvider(provider, Mqtt);
    const messages: SdkMessage[] = [];
    await client.open();
    try {
      client.on('message', (m: SdkMessage) => messages.push(m));
      await subscribedToC2d(deviceId);
      await sendCommand({
        deviceId, messageId: 'c2d-1', correlationId: 'corr-9', contentType: 'application/json', contentEncoding: 'utf-8', ack: 'full',
        to: `/devices/${deviceId}/messages/deviceBound`, expiryTime: Date.parse('2099-01-01T00:00:00Z'),
        properties: { prop1: 'val 1', 'a/b': 'c&d' }, body: Buffer.from('{"hello":1}'),
      });
      const first = await eventually('first C2D message', () => messages.find((m) => m.messageId === 'c2d-1'), 15_000);
      assert.equal(first.correlationId, 'corr-9');
      assert.equal(first.contentType, 'application/json');
      assert.equal(first.contentEncoding, 'utf-8');
      assert.equal(first.properties.getValue('prop1'), 'val 1');
      assert.equal(first.properties.getValue('a/b'), 'c&d');
      assert.equal(first.properties.getValue('iothub-ack'), 'full');
      assert.equal(Buffer.from(first.data as Buffer).toString(), '{"hello":1}');

      // Token renewal: the SDK disconnects and reconnects with a new token and re-subscribes to nothing (wire §0.4).
      const before = fx.ingest.gateway.connections.get({ deviceId })?.connectionId;
      assert.ok(before);
      provider.setTokenRenewalValues(3600, 3599);
      await eventually('a new connection after token renewal', () => {
        const now = fx.ingest.gateway.connections.get({ deviceId })?.connectionId;
        return now !== undefined && now !== before ? true : undefined;
      }, 20_000);
      await sendCommand({ deviceId, messageId: 'c2d-2', body: Buffer.from('again') });
      const second = await eventually('C2D after the renewal reconnect', () => messages.find((m) => m.messageId === 'c2d-2'), 15_000);
      assert.equal(Buffer.from(second.data as Buffer).toString(), 'again');
    } finally {
      await client.close();
    }
  });

  test('a command for a device without a C2D subscription is not delivered; expired commands are skipped', async () => {
    const deviceId = uniqueName('nosub');
    const identity = await fx.createSasDevice(deviceId);
    const client = await rawConnect({ port: fx.ingest.mqttPort, deviceId, password: deviceToken(deviceId, identity.authentication.symmetricKey.primaryKey ?? '') });
    const got: string[] = [];
    client.on('message', (topic) => got.push(topic));
    const deliveredBefore = fx.ingest.gateway.deliveredCommands;
    await sendCommand({ deviceId, messageId: 'x' });
    await client.subscribeAsync(`devices/${deviceId}/messages/devicebound/#`, { qos: 1 });
    await sendCommand({ deviceId, messageId: 'expired', expiryTime: Date.now() - 1000 });
    await sendCommand({ deviceId, messageId: 'fresh' });
    await eventually('the fresh message', () => (got.length > 0 ? true : undefined), 15_000);
    assert.deepEqual(got, [`devices/${deviceId}/messages/devicebound/%24.mid=fresh`]);
    assert.equal(fx.ingest.gateway.deliveredCommands - deliveredBefore, 2, 'the unsubscribed one was handed over but not sent');
    await client.endAsync();
  });
});

describe('sessions across two ingest nodes', () => {
  test('CleanSession 0 subscriptions follow the device to another node; the newer connection wins', async () => {
    const node2 = await fx.startNode();
    const deviceId = uniqueName('roam');
    const identity = await fx.createSasDevice(deviceId);
    const token = deviceToken(deviceId, identity.authentication.symmetricKey.primaryKey ?? '');

    const onNode1 = await rawConnect({ port: fx.ingest.mqttPort, deviceId, password: token, clean: false });
    await onNode1.subscribeAsync(`devices/${deviceId}/messages/devicebound/#`, { qos: 1 });
    await onNode1.subscribeAsync('$iothub/methods/POST/#', { qos: 0 });
    const kicked = closedByServer(onNode1);

    // Same client id on node 2, without subscribing: node 1's connection is closed, the session is present.
    const onNode2 = await rawConnect({ port: node2.mqttPort, deviceId, password: token, clean: false });
    await kicked;
    await eventually('node 2 holds the connection', () => (node2.gateway.connections.get({ deviceId }) && !fx.ingest.gateway.connections.get({ deviceId }) ? true : undefined), 15_000);

    const got: Array<{ topic: string; payload: string }> = [];
    onNode2.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
    await sendCommand({ deviceId, messageId: 'roamed', body: Buffer.from('via node 2') });
    await sendCommand({ deviceId, kind: 'MethodRequest', methodName: 'reboot', requestId: 'r1', body: Buffer.from('{"delay":1}') });
    await eventually('both commands through node 2', () => (got.length >= 2 ? true : undefined), 15_000);
    assert.deepEqual(got, [
      { topic: `devices/${deviceId}/messages/devicebound/%24.mid=roamed`, payload: 'via node 2' },
      { topic: '$iothub/methods/POST/reboot/?$rid=r1', payload: '{"delay":1}' },
    ]);
    await onNode2.endAsync();

    // A CleanSession 1 connect ends the stored session.
    const clean = await rawConnect({ port: node2.mqttPort, deviceId, password: token, clean: true });
    assert.equal(await fx.ingest.gateway.sessions.load(deviceId), undefined);
    await clean.endAsync();
  });
});
