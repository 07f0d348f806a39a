import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import common from 'azure-iot-common';
import { parseSasToken, resourceCovers, verifySasToken } from '../../core/auth/sas.ts';
import { SENT_AT_PROPERTY, connectFields, iotHubUsername, messageId, telemetryPayload, telemetryTopic, type IotHubTarget, type MqttTarget } from './target.ts';

const key = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
const hub: IotHubTarget = { kind: 'iothub', name: 'tributary', host: '127.0.0.1', port: 8883, hubName: 'hub.example', caPem: '', deviceKey: key };
const mosquitto: MqttTarget = { kind: 'mqtt', name: 'mosquitto', host: '127.0.0.1', port: 1883 };

describe('IoT Hub dialect (iothub-wire.md §1.3, §2.1–§2.3)', () => {
  test('CONNECT: clientId = deviceId, SDK-shaped username, persistent session', () => {
    const f = connectFields(hub, 'sim-000001', 1_700_000_000);
    assert.equal(f.clientId, 'sim-000001');
    assert.equal(f.clean, false);
    assert.equal(f.username, 'hub.example/sim-000001/?api-version=2021-04-12&DeviceClientType=tributary-load-tests%2F0.1');
    assert.equal(iotHubUsername('h', 'd'), f.username!.replace('hub.example/sim-000001', 'h/d'));
  });

  test('the password is a device SAS token for {host}/devices/{id}, identical to the official SDK\'s', () => {
    const now = 1_700_000_000;
    const { password } = connectFields(hub, 'sim-000001', now + 0.7);
    const sdk = common.SharedAccessSignature.create(common.encodeUriComponentStrict('hub.example/devices/sim-000001'), undefined as unknown as string, key, now + 3600).toString();
    assert.equal(password, sdk);
    const parsed = parseSasToken(password!);
    assert.equal(parsed.expiresAt, now + 3600);
    assert.ok(resourceCovers(parsed.resource, 'hub.example/devices/sim-000001'));
    assert.doesNotThrow(() => verifySasToken(parsed, [key], now));
    assert.throws(() => verifySasToken(parsed, [Buffer.from('other').toString('base64')], now));
  });

  test('token lifetime follows the target', () => {
    const { password } = connectFields({ ...hub, tokenTtlSeconds: 60 }, 'd', 1000);
    assert.equal(parseSasToken(password!).expiresAt, 1060);
  });

  test('telemetry topic carries $.mid and the send time in the property bag', () => {
    const mid = messageId('run1', 'sim-000001', 7);
    const topic = telemetryTopic(hub, 'sim-000001', mid, 1_700_000_000_123);
    const prefix = 'devices/sim-000001/messages/events/';
    assert.ok(topic.startsWith(prefix), topic);
    // Decode the bag the way the hub must (split on &, then =, then URL-decode both sides).
    const bag = new Map(topic.slice(prefix.length).split('&').map((pair) => pair.split('=').map(decodeURIComponent) as [string, string]));
    assert.equal(bag.get('$.mid'), 'run1.sim-000001.7');
    assert.equal(bag.get('$.ct'), 'application/json');
    assert.equal(bag.get('$.ce'), 'utf-8');
    assert.equal(bag.get(SENT_AT_PROPERTY), '1700000000123');
    // System properties first (wire §2.3).
    assert.ok(topic.slice(prefix.length).startsWith('%24.mid='));
  });

  test('message ids with reserved characters stay inside their bag value', () => {
    const topic = telemetryTopic(hub, 'd', 'a&b=c/d', 1);
    assert.ok(topic.includes('%24.mid=a%26b%3Dc%2Fd&'), topic);
  });
});

describe('plain MQTT', () => {
  test('no credentials, clean session by default, one topic per device', () => {
    assert.deepEqual(connectFields(mosquitto, 'sim-000003', 0), { clientId: 'sim-000003', clean: true });
    assert.equal(connectFields({ ...mosquitto, clean: false }, 'x', 0).clean, false);
    assert.equal(telemetryTopic(mosquitto, 'sim-000003', 'm', 1), 'tributary-bench/sim-000003/telemetry');
    assert.equal(telemetryTopic({ ...mosquitto, topicPrefix: 'p' }, 'd', 'm', 1), 'p/d/telemetry');
  });
});

describe('telemetryPayload', () => {
  test('is JSON of exactly the requested size, with the device, sequence and time', () => {
    for (const size of [100, 128, 1000]) {
      const p = telemetryPayload('sim-000001', 12345, 1_700_000_000_000, size);
      assert.equal(p.length, size);
      const body = JSON.parse(p.toString()) as { deviceId: string; seq: number; ts: number };
      assert.equal(body.deviceId, 'sim-000001');
      assert.equal(body.seq, 12345);
      assert.equal(body.ts, 1_700_000_000_000);
    }
  });

  test('is the same bytes for the same device and sequence, different for another', () => {
    assert.deepEqual(telemetryPayload('a', 1, 5, 100), telemetryPayload('a', 1, 5, 100));
    assert.notDeepEqual(telemetryPayload('a', 1, 5, 100), telemetryPayload('a', 2, 5, 100));
  });

  test('a size below the bare reading gives the bare reading', () => {
    const p = telemetryPayload('sim-000001', 1, 1_700_000_000_000, 64);
    assert.ok(p.length > 64);
    assert.doesNotThrow(() => JSON.parse(p.toString()));
  });
});
