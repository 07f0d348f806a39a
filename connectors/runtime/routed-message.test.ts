import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TOPICS } from '../../core/log/topics.ts';
import type { LogRecord } from '../../core/log/types.ts';
import { TributaryError } from '../../core/errors/index.ts';
import type { DeviceConnectionEvent, DeviceLifecycleEvent, EnrichedDeviceMessage, ForwardedRecord, TwinChange } from '../../core/serde/index.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { SOURCE_BY_TOPIC, decodeRouted, decodeRoutedSync, isJsonBody, isoTime } from './routed-message.ts';

let platform: EmbeddedPlatform;
before(async () => {
  platform = await openEmbeddedPlatform();
});
after(() => platform.close());

const T = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

/** Wraps `value` (encoded for `sourceTopic`) as the router would and returns the endpoint-topic record. */
async function routed(sourceTopic: string, value: unknown, at: { partition: number; offset: number } = { partition: 1, offset: 42 }): Promise<LogRecord> {
  const inner = await platform.serde.encode(sourceTopic, value);
  const forwarded: ForwardedRecord = {
    sourceTopic, sourcePartition: at.partition, sourceOffset: at.offset, sourceTimestamp: T, key: Buffer.from('k'), value: inner,
    headers: {}, route: 'r1', endpoint: 'ep1', forwardedTime: T + 1,
  };
  const value2 = await platform.serde.encode('iot.route.ep1', forwarded);
  return { topic: 'iot.route.ep1', partition: 0, offset: 7, key: Buffer.from('k'), value: value2, headers: {}, timestamp: T };
}

const message: EnrichedDeviceMessage = {
  messageId: 'm-1', correlationId: 'c-1', userId: 'u-1', to: null, contentType: 'application/json; charset=utf-8', contentEncoding: 'UTF-8',
  expiryTime: null, creationTime: T - 1000, enqueuedTime: T, connectionDeviceId: 'dev-a', connectionModuleId: 'mod-a',
  connectionAuthMethod: '{"type":"sas"}', connectionDeviceGenerationId: 'g1', interfaceId: null, componentName: 'thermo', outputName: null,
  ingestNode: 'node-1', protocol: 'Mqtt', properties: { level: 'high' }, enrichments: { site: 'plant-7' }, twin: null,
  body: Buffer.from('{"t":21.5}'),
};

describe('decodeRouted', () => {
  it('device messages: IoT Hub system property names, app properties, enrichments, JSON body text', async () => {
    const m = await decodeRouted(platform.serde, await routed(TOPICS.deviceMessagesEnriched, message));
    assert.equal(m.source, 'DeviceMessages');
    assert.equal(m.deviceId, 'dev-a');
    assert.equal(m.moduleId, 'mod-a');
    assert.equal(m.messageId, 'm-1');
    assert.equal(m.dedupeId, 'm-1');
    assert.equal(m.enqueuedTime, T);
    assert.deepEqual(m.systemProperties, {
      'message-id': 'm-1', 'correlation-id': 'c-1', 'user-id': 'u-1', 'content-type': 'application/json; charset=utf-8',
      'content-encoding': 'UTF-8', 'iothub-connection-device-id': 'dev-a', 'iothub-connection-module-id': 'mod-a',
      'iothub-connection-auth-method': '{"type":"sas"}', 'iothub-connection-auth-generation-id': 'g1',
      'iothub-enqueuedtime': '2026-01-02T03:04:05.678Z', 'iothub-creation-time-utc': '2026-01-02T03:04:04.678Z',
      'dt-subject': 'thermo', 'iothub-message-source': 'Telemetry',
    });
    assert.deepEqual(m.appProperties, { level: 'high' });
    assert.deepEqual(m.enrichments, { site: 'plant-7' });
    assert.deepEqual(m.body, Buffer.from('{"t":21.5}'));
    assert.equal(m.bodyText, '{"t":21.5}');
    assert.equal(m.ingestNode, 'node-1');
    assert.equal(m.protocol, 'Mqtt');
    assert.deepEqual([m.route, m.endpoint, m.sourceTopic, m.sourcePartition, m.sourceOffset], ['r1', 'ep1', TOPICS.deviceMessagesEnriched, 1, 42]);
  });

  it('device messages without a message id dedupe on their source position; binary bodies have no text', async () => {
    const plain = { ...message, messageId: null, contentType: 'application/octet-stream', body: Buffer.from([0, 255, 1]) };
    delete (plain as { enrichments?: unknown }).enrichments;
    delete (plain as { twin?: unknown }).twin;
    const m = await decodeRouted(platform.serde, await routed(TOPICS.deviceMessages, plain, { partition: 3, offset: 9 }));
    assert.equal(m.messageId, null);
    assert.equal(m.dedupeId, `${TOPICS.deviceMessages}/3/9`);
    assert.equal(m.bodyText, null);
    assert.deepEqual(m.body, Buffer.from([0, 255, 1]));
    assert.deepEqual(m.enrichments, {});
    assert.equal(m.systemProperties['message-id'], undefined);
  });

  it('twin change events: the twin change notification body and properties', async () => {
    const change: TwinChange = {
      opType: 'updateTwin', deviceId: 'dev-b', moduleId: null, version: 4, etag: 'e', desiredVersion: null, reportedVersion: 3,
      tagsPatch: null, desiredPatch: null, reportedPatch: '{"fw":"1.0"}', origin: 'Device', requestId: null, operationTime: T,
    };
    const m = await decodeRouted(platform.serde, await routed(TOPICS.twinChanges, change, { partition: 0, offset: 5 }));
    assert.equal(m.source, 'TwinChangeEvents');
    assert.equal(m.dedupeId, `${TOPICS.twinChanges}/0/5`);
    assert.equal(m.messageId, m.dedupeId);
    assert.deepEqual(JSON.parse(m.bodyText!), { version: 4, properties: { reported: { fw: '1.0' } } });
    assert.equal(m.body.toString('utf8'), m.bodyText);
    assert.equal(m.appProperties.opType, 'updateTwin');
    assert.equal(m.appProperties['iothub-message-schema'], 'twinChangeNotification');
    assert.equal(m.systemProperties['iothub-message-source'], 'twinChangeEvents');
    assert.equal(m.systemProperties['content-type'], 'application/json');
    assert.equal(m.enqueuedTime, T);
  });

  it('lifecycle and connection events', async () => {
    const life: DeviceLifecycleEvent = {
      opType: 'createDeviceIdentity', deviceId: 'dev-c', moduleId: null, generationId: null, etag: null, status: 'enabled',
      statusReason: null, authenticationType: 'sas', identity: '{"deviceId":"dev-c","status":"enabled"}', operationTime: T,
    };
    const l = await decodeRouted(platform.serde, await routed(TOPICS.deviceLifecycle, life));
    assert.equal(l.source, 'DeviceLifecycleEvents');
    assert.deepEqual(JSON.parse(l.bodyText!), { deviceId: 'dev-c', status: 'enabled' });
    assert.equal(l.appProperties['iothub-message-schema'], 'deviceLifecycleNotification');

    const conn: DeviceConnectionEvent = {
      eventType: 'deviceConnected', deviceId: 'dev-d', moduleId: 'm', connectionId: 'conn-1', ingestNode: 'node-2', protocol: 'Https',
      remoteAddress: null, authMethod: null, modelId: null, reason: null, eventTime: T + 5,
    };
    const c = await decodeRouted(platform.serde, await routed(TOPICS.deviceConnections, conn));
    assert.equal(c.source, 'DeviceConnectionStateEvents');
    assert.equal(c.moduleId, 'm');
    assert.equal(c.ingestNode, 'node-2');
    assert.equal(c.protocol, 'Https');
    assert.equal(c.enqueuedTime, T + 5);
    assert.equal(c.appProperties.opType, 'deviceConnected');
    assert.equal(JSON.parse(c.bodyText!).connectionId, 'conn-1');
  });

  it('a tombstone or a record from no route source is a non-retriable coded error', async () => {
    const tomb: LogRecord = { topic: 'iot.route.ep1', partition: 0, offset: 1, key: null, value: null, headers: {}, timestamp: T };
    await assert.rejects(decodeRouted(platform.serde, tomb), (e: unknown) => e instanceof TributaryError && !e.retriable && e.code === 'ArgumentNull');
    const other = await routed(TOPICS.cloudCommands, {
      kind: 'Disconnect', commandId: 'x', deviceId: 'd', enqueuedTime: T, properties: {},
    });
    await assert.rejects(decodeRouted(platform.serde, other), (e: unknown) => e instanceof TributaryError && !e.retriable && e.code === 'ArgumentInvalid');
  });
});

describe('decodeRoutedSync', () => {
  it('undefined until the record\'s schemas were looked up once, then the same message as decodeRouted', async () => {
    // A route topic no test decoded before: its reader is not cached yet.
    const record = { ...(await routed(TOPICS.deviceMessagesEnriched, message)), topic: 'iot.route.ep-sync' };
    assert.equal(decodeRoutedSync(platform.serde, record), undefined);
    const decoded = await decodeRouted(platform.serde, record);
    assert.deepEqual(decodeRoutedSync(platform.serde, record), decoded);
    assert.equal(decoded.deviceId, 'dev-a');
    const tomb: LogRecord = { ...record, value: null };
    assert.throws(() => decodeRoutedSync(platform.serde, tomb), (e: unknown) => e instanceof TributaryError && !e.retriable && e.code === 'ArgumentNull');
  });
});

describe('helpers', () => {
  it('isJsonBody follows IoT Hub: application/json with UTF-8, case-insensitive', () => {
    assert.equal(isJsonBody('application/json', 'utf-8'), true);
    assert.equal(isJsonBody('Application/JSON;charset=utf-8', 'UTF8'), true);
    assert.equal(isJsonBody('application/json', null), false);
    assert.equal(isJsonBody('text/plain', 'utf-8'), false);
    assert.equal(isJsonBody('application/json', 'utf-16'), false);
  });
  it('isoTime formats exactly as Date.toISOString, across seconds and at the edges of the fixed form', () => {
    const times = [0, 1, 999, 1000, 1001, T, T + 1, T - 1, T + 322, T + 1000, T, 253_402_300_799_999, 253_402_300_800_000, -1, -1500, 1.5, 8.64e15];
    for (let i = 0; i < 200; i++) times.push(Math.floor(T + (i % 3) * 1000 + i * 7));
    for (const ms of times) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
    assert.throws(() => isoTime(Number.NaN), RangeError);
  });
  it('SOURCE_BY_TOPIC covers the four route sources', () => {
    assert.deepEqual(new Set(Object.values(SOURCE_BY_TOPIC)), new Set(['DeviceMessages', 'TwinChangeEvents', 'DeviceLifecycleEvents', 'DeviceConnectionStateEvents']));
    assert.equal(SOURCE_BY_TOPIC[TOPICS.deviceMessages], 'DeviceMessages');
  });
});
