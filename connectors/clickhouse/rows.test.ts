import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TributaryError } from '../../core/errors/index.ts';
import type { RoutedMessage } from '../runtime/routed-message.ts';
import { tableOf, toRow } from './rows.ts';
import { insertColumns } from './tables.ts';

const T = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

function message(overrides: Partial<RoutedMessage> = {}): RoutedMessage {
  const body = Buffer.from('{"t":21.5}');
  return {
    source: 'DeviceMessages', deviceId: 'dev-a', moduleId: null, messageId: 'm-1', dedupeId: 'm-1', enqueuedTime: T,
    systemProperties: { 'message-id': 'm-1', 'correlation-id': 'c-1', 'content-type': 'application/json', 'content-encoding': 'utf-8' },
    appProperties: { level: 'high', unit: 'C' }, enrichments: { site: 'plant-7' },
    body, bodyText: body.toString('utf8'), ingestNode: 'node-1', protocol: 'Mqtt', route: 'r1', endpoint: 'ep1',
    sourceTopic: 'iot.device.messages.enriched', sourcePartition: 3, sourceOffset: 42,
    ...overrides,
  };
}

function event(source: RoutedMessage['source'], opType: string, body: unknown): RoutedMessage {
  const text = JSON.stringify(body);
  return message({
    source, messageId: 'iot.x/0/9', dedupeId: 'iot.x/0/9', moduleId: 'mod-1', systemProperties: { 'iothub-message-source': source },
    appProperties: { opType }, enrichments: {}, body: Buffer.from(text), bodyText: text, ingestNode: null, protocol: null,
  });
}

describe('toRow', () => {
  it('maps a device message on the legacy layout: epoch seconds, Nested arrays, raw body as hex', () => {
    const mapped = toRow(message({ body: Buffer.from([0xff, 0x00, 0x41]), bodyText: null }), 'legacy');
    assert.equal(mapped.table, 'messages');
    assert.deepEqual(mapped.key, ['dev-a', '', 'm-1']);
    assert.equal(mapped.timeMs, T);
    const r = mapped.row;
    assert.equal(r.enqueued_time, Date.UTC(2026, 0, 2, 3, 4, 5) / 1000);
    assert.equal(r.enqueued_epoch_ms, T);
    assert.deepEqual(r['app_properties.keys'], ['level', 'unit']);
    assert.deepEqual(r['app_properties.values'], ['high', 'C']);
    assert.deepEqual(r['enrichments.keys'], ['site']);
    assert.equal(r.body_hex, 'ff0041');
    assert.equal(r.body_size, 3);
    assert.equal(r.body_text, null);
    assert.equal(r.correlation_id, 'c-1');
    assert.equal(r.content_type, 'application/json');
    assert.deepEqual([r.route, r.endpoint, r.source_topic, r.source_partition, r.source_offset], ['r1', 'ep1', 'iot.device.messages.enriched', 3, 42]);
    assert.deepEqual(Object.keys(r).sort(), insertColumns('messages', 'legacy').sort());
  });

  it('maps a device message on the modern layout: millisecond text time, Map objects', () => {
    const r = toRow(message(), 'modern').row;
    assert.equal(r.enqueued_time, '2026-01-02 03:04:05.678');
    assert.deepEqual(r.app_properties, { level: 'high', unit: 'C' });
    assert.equal(r.body_text, '{"t":21.5}');
    assert.equal(Buffer.from(r.body_hex as string, 'hex').toString(), '{"t":21.5}');
    assert.deepEqual(Object.keys(r).sort(), insertColumns('messages', 'modern').sort());
  });

  it('splits a twin change into its patches', () => {
    const mapped = toRow(event('TwinChangeEvents', 'updateTwin', { version: 7, properties: { reported: { temp: 3 } } }), 'legacy');
    assert.equal(mapped.table, 'twin_changes');
    assert.deepEqual(mapped.key, ['dev-a', 'mod-1', 'iot.x/0/9']);
    const r = mapped.row;
    assert.deepEqual([r.op_type, r.version, r.tags_patch, r.desired_patch, r.reported_patch], ['updateTwin', 7, null, null, '{"temp":3}']);
    assert.equal(r.event_epoch_ms, T);
    assert.deepEqual(Object.keys(r).sort(), insertColumns('twin_changes', 'legacy').sort());
  });

  it('maps lifecycle and connection events to device_events', () => {
    const conn = toRow(event('DeviceConnectionStateEvents', 'deviceDisconnected', { connectionId: 'c-9', reason: 'clientClosed' }), 'modern');
    assert.equal(conn.table, 'device_events');
    assert.deepEqual([conn.row.event_source, conn.row.op_type, conn.row.connection_id, conn.row.reason, conn.row.status],
      ['DeviceConnectionStateEvents', 'deviceDisconnected', 'c-9', 'clientClosed', '']);
    const life = toRow(event('DeviceLifecycleEvents', 'createDeviceIdentity', { deviceId: 'dev-a', status: 'enabled' }), 'legacy');
    assert.deepEqual([life.table, life.row.op_type, life.row.status], ['device_events', 'createDeviceIdentity', 'enabled']);
    assert.deepEqual(Object.keys(life.row).sort(), insertColumns('device_events', 'legacy').sort());
  });

  it('routes every source to its table', () => {
    assert.deepEqual(['DeviceMessages', 'TwinChangeEvents', 'DeviceLifecycleEvents', 'DeviceConnectionStateEvents'].map((s) => tableOf(s as RoutedMessage['source'])),
      ['messages', 'twin_changes', 'device_events', 'device_events']);
  });

  it('refuses rows no table can hold, as non-retriable errors', () => {
    for (const bad of [message({ enqueuedTime: -1 }), message({ enqueuedTime: 2 ** 32 * 1000 }), message({ enqueuedTime: 1.5 }), message({ deviceId: '' }),
      event('TwinChangeEvents', 'updateTwin', [1, 2])]) {
      assert.throws(() => toRow(bad, 'legacy'), (err: unknown) => err instanceof TributaryError && !err.retriable);
    }
  });
});
