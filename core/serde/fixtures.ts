/**
 * One realistic value per topic, shared by the serde unit and integration tests (not a test file itself).
 * Values fill every field so a round trip exercises every field of every schema.
 */
import type { TopicValues } from './records.ts';

const now = 1_767_225_600_123; // 2026-01-01T00:00:00.123Z, fixed so failures are reproducible

export const SAMPLE_VALUES: { [T in keyof TopicValues]: TopicValues[T] } = {
  'iot.device.messages': {
    messageId: 'mid-1', correlationId: 'cid-1', userId: 'user-1', to: null, contentType: 'application/json',
    contentEncoding: 'utf-8', expiryTime: now + 60_000, creationTime: now - 5, enqueuedTime: now,
    connectionDeviceId: 'dev1', connectionModuleId: null,
    connectionAuthMethod: '{"scope":"device","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}',
    connectionDeviceGenerationId: '638000000000000001', interfaceId: null, componentName: 'thermostat1', outputName: null,
    ingestNode: 'ingest-a', protocol: 'Mqtt', properties: { 'alert level': 'high & hot', $x: 'y/z' },
    body: Buffer.from('{"temperature":21.5}'),
  },
  'iot.device.messages.enriched': {
    messageId: 'mid-2', correlationId: null, userId: null, to: null, contentType: 'application/octet-stream',
    contentEncoding: null, expiryTime: null, creationTime: null, enqueuedTime: now, connectionDeviceId: 'dev2',
    connectionModuleId: 'mod1', connectionAuthMethod: null, connectionDeviceGenerationId: null, interfaceId: null,
    componentName: null, outputName: 'out1', ingestNode: 'ingest-b', protocol: 'Https', properties: {},
    enrichments: { location: 'plant-7', fixed: 'v' }, twin: '{"tags":{"location":"plant-7"}}',
    body: Buffer.from([0, 1, 2, 255]),
  },
  'iot.twin.updates': {
    kind: 'PatchReported', origin: 'Device', deviceId: 'dev1', moduleId: null, requestId: '7f1d7a8e-1111-4a3e-9a55-0d1f3c1b2a01',
    patch: '{"firmware":"1.2.3","battery":null}', ifMatch: null, ingestNode: 'ingest-a', protocol: 'MqttWs', enqueuedTime: now,
  },
  'iot.twin.changes': {
    opType: 'updateTwin', deviceId: 'dev1', moduleId: null, version: 12, etag: 'AAAAAAAAAAM=', desiredVersion: null,
    reportedVersion: 5, tagsPatch: null, desiredPatch: null, reportedPatch: '{"firmware":"1.2.3"}', origin: 'Device',
    requestId: '7f1d7a8e-1111-4a3e-9a55-0d1f3c1b2a01', operationTime: now,
  },
  'iot.device.lifecycle': {
    opType: 'updateDeviceIdentity', deviceId: 'dev3', moduleId: null, generationId: '638000000000000003', etag: 'MQ==',
    status: 'disabled', statusReason: 'stolen', authenticationType: 'sas', identity: '{"deviceId":"dev3","status":"disabled"}',
    operationTime: now,
  },
  'iot.device.connections': {
    eventType: 'deviceDisconnected', deviceId: 'dev1', moduleId: null, connectionId: 'c0ffee00-0000-4000-8000-000000000001',
    ingestNode: 'ingest-a', protocol: 'Mqtt', remoteAddress: '10.0.0.7:53211', authMethod: null,
    modelId: 'dtmi:com:example:Thermostat;1', reason: 'ConnectionForcefullyClosedOnNewConnection', eventTime: now,
  },
  'iot.cloud.commands': {
    kind: 'C2DMessage', commandId: 'cmd-1', deviceId: 'dev1', moduleId: null, targetNode: 'ingest-a', messageId: 'c2d-1',
    correlationId: 'corr-9', userId: null, to: '/devices/dev1/messages/deviceBound', contentType: 'application/json',
    contentEncoding: 'utf-8', expiryTime: now + 3_600_000, ack: 'full', lockToken: 'lock-1', deliveryCount: 0,
    inputName: null, properties: { prop1: 'val 1', 'a/b': 'c&d' }, methodName: null, requestId: null,
    responseTimeoutSeconds: null, connectTimeoutSeconds: null, status: null, version: null, reason: null,
    body: Buffer.from('{"setpoint":20}'), enqueuedTime: now,
  },
  'iot.device.replies': {
    kind: 'MethodResponse', deviceId: 'dev1', moduleId: null, requestId: 'rid-5', status: 200, messageId: null,
    lockToken: null, body: Buffer.from('{"ok":true}'), ingestNode: 'ingest-a', protocol: 'Mqtt', enqueuedTime: now,
  },
  'iot.deadletter': {
    sourceTopic: 'iot.device.messages', sourcePartition: 3, sourceOffset: 9_007_199_254, sourceTimestamp: now,
    key: Buffer.from('dev1'), value: Buffer.from([0, 0, 0, 0, 1, 42]), headers: { 'tributary-error': Buffer.from('ProcessingFailed') },
    route: null, endpoint: null, errorCode: 'ProcessingFailed', errorMessage: 'enrich: device twin lookup failed',
    failedBy: 'enrich/tributary-enrich', attempts: 5, forwardedTime: now + 10,
  },
};

/** A route-topic value: the same ForwardedRecord family as the dead-letter topic. */
export const SAMPLE_ROUTE_VALUE: TopicValues['iot.deadletter'] = {
  sourceTopic: 'iot.device.messages.enriched', sourcePartition: 0, sourceOffset: 17, sourceTimestamp: now, key: Buffer.from('dev2'),
  value: Buffer.from([0, 0, 0, 0, 2, 1]), headers: {}, route: 'hot-alerts', endpoint: 'alerts', errorCode: null,
  errorMessage: null, failedBy: null, attempts: null, forwardedTime: now,
};
