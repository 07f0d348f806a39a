import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TributaryError } from '../../core/errors/index.ts';
import type { RoutedMessage } from '../runtime/routed-message.ts';
import { toCloudEvent } from './cloud-event.ts';

const T = Date.UTC(2026, 10, 27, 7, 30, 1, 250);

function routed(overrides: Partial<RoutedMessage>): RoutedMessage {
  return {
    source: 'DeviceMessages', deviceId: 'pump#7', moduleId: null, messageId: 'm-1', dedupeId: 'm-1', enqueuedTime: T,
    systemProperties: {}, appProperties: {}, enrichments: {}, body: Buffer.alloc(0), bodyText: null, ingestNode: 'n1', protocol: 'Mqtt',
    route: 'r', endpoint: 'hook', sourceTopic: 'iot.device.messages.enriched', sourcePartition: 2, sourceOffset: 41,
    ...overrides,
  };
}

describe('toCloudEvent', () => {
  it('telemetry: Event Grid DeviceTelemetry with the JSON body, properties and Event Grid system property names', () => {
    const body = { temperature: 21.5, tags: ['a'] };
    const event = toCloudEvent(routed({
      body: Buffer.from(JSON.stringify(body)), bodyText: JSON.stringify(body),
      appProperties: { level: 'high', site: 'device-says' }, enrichments: { site: 'plant-7', owner: 'ops' },
      systemProperties: { 'message-id': 'm-1', 'content-type': 'application/json', 'content-encoding': 'utf-8', 'iothub-connection-device-id': 'pump#7', 'iothub-enqueuedtime': new Date(T).toISOString() },
    }), 'hub-1');
    assert.deepEqual(event, {
      specversion: '1.0',
      id: 'm-1',
      source: '/hubs/hub-1/devices/pump%237',
      type: 'Microsoft.Devices.DeviceTelemetry',
      subject: 'devices/pump#7',
      time: '2026-11-27T07:30:01.250Z',
      datacontenttype: 'application/json',
      data: {
        body,
        properties: { level: 'high', site: 'plant-7', owner: 'ops' },
        systemProperties: {
          'message-id': 'm-1', 'iothub-content-type': 'application/json', 'iothub-content-encoding': 'utf-8',
          'iothub-connection-device-id': 'pump#7', 'iothub-enqueuedtime': '2026-11-27T07:30:01.250Z',
        },
      },
    });
  });

  it('telemetry that is not JSON in UTF-8 (or does not parse) carries its bytes base64-encoded, as Event Grid does', () => {
    const bytes = Buffer.from([0, 1, 254, 255]);
    assert.equal(toCloudEvent(routed({ body: bytes }), 'h').data.body, bytes.toString('base64'));
    assert.equal(toCloudEvent(routed({ body: Buffer.from('{oops'), bodyText: '{oops' }), 'h').data.body, Buffer.from('{oops').toString('base64'));
  });

  it('module messages name the module in source and subject', () => {
    const event = toCloudEvent(routed({ moduleId: 'filter' }), 'h');
    assert.equal(event.source, '/hubs/h/devices/pump%237/modules/filter');
    assert.equal(event.subject, 'devices/pump#7/modules/filter');
  });

  it('connection state events: DeviceConnected / DeviceDisconnected with the sequence number, hub and ids', () => {
    for (const opType of ['deviceConnected', 'deviceDisconnected'] as const) {
      const text = JSON.stringify({ sequenceNumber: '00000000000000000041', deviceId: 'pump#7', connectionId: 'c' });
      const event = toCloudEvent(routed({ source: 'DeviceConnectionStateEvents', moduleId: 'm', dedupeId: 'iot.device.connections/0/41', appProperties: { opType }, bodyText: text, body: Buffer.from(text) }), 'h');
      assert.equal(event.type, opType === 'deviceConnected' ? 'Microsoft.Devices.DeviceConnected' : 'Microsoft.Devices.DeviceDisconnected');
      assert.equal(event.id, 'iot.device.connections/0/41');
      assert.deepEqual(event.data, { deviceConnectionStateEventInfo: { sequenceNumber: '00000000000000000041' }, hubName: 'h', deviceId: 'pump#7', moduleId: 'm' });
    }
  });

  it('lifecycle events: DeviceCreated / DeviceDeleted carry the identity as twin; module and update operations get Tributary types', () => {
    const identity = { deviceId: 'pump#7', status: 'enabled', etag: 'AAA=' };
    const text = JSON.stringify(identity);
    const types = Object.fromEntries(
      ['createDeviceIdentity', 'deleteDeviceIdentity', 'updateDeviceIdentity', 'createModuleIdentity', 'deleteModuleIdentity'].map((opType) => {
        const event = toCloudEvent(routed({ source: 'DeviceLifecycleEvents', appProperties: { opType }, bodyText: text, body: Buffer.from(text) }), 'h');
        assert.deepEqual(event.data, { twin: identity, hubName: 'h', deviceId: 'pump#7' });
        return [opType, event.type];
      }),
    );
    assert.deepEqual(types, {
      createDeviceIdentity: 'Microsoft.Devices.DeviceCreated', deleteDeviceIdentity: 'Microsoft.Devices.DeviceDeleted',
      updateDeviceIdentity: 'Tributary.Devices.DeviceUpdated', createModuleIdentity: 'Tributary.Devices.ModuleCreated',
      deleteModuleIdentity: 'Tributary.Devices.ModuleDeleted',
    });
  });

  it('twin changes: Tributary.Devices.TwinChanged with the version and the patches', () => {
    const change = { version: 5, properties: { reported: { fw: '2.0' } } };
    const text = JSON.stringify(change);
    const event = toCloudEvent(routed({ source: 'TwinChangeEvents', appProperties: { opType: 'updateTwin' }, bodyText: text, body: Buffer.from(text) }), 'h');
    assert.equal(event.type, 'Tributary.Devices.TwinChanged');
    assert.deepEqual(event.data, { ...change, hubName: 'h', deviceId: 'pump#7' });
  });

  it('events it cannot type are refused with a non-retriable code (the runtime dead-letters them)', () => {
    for (const bad of [
      routed({ source: 'DeviceConnectionStateEvents', appProperties: { opType: 'unknown' }, bodyText: '{}' }),
      routed({ source: 'DeviceLifecycleEvents', appProperties: { opType: 'toString' }, bodyText: '{}' }),
      routed({ source: 'TwinChangeEvents', appProperties: { opType: 'updateTwin' }, bodyText: '[1]' }),
    ]) {
      assert.throws(() => toCloudEvent(bad, 'h'), (err: unknown) => err instanceof TributaryError && err.code === 'ArgumentInvalid' && !err.retriable);
    }
  });
});
