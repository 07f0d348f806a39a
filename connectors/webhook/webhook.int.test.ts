/**
 * The webhook connector against a real HTTPS receiver (node:https, a certificate from the test CA, which fetch trusts
 * through NODE_EXTRA_CA_CERTS as test/run.ts sets it), on port 0, fed by the connector runtime from the embedded log.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { TOPICS, routeTopic } from '../../core/log/topics.ts';
import { DLQ_HEADERS } from '../../core/runtime/dead-letter.ts';
import type { DeviceConnectionEvent, DeviceLifecycleEvent, EnrichedDeviceMessage, ForwardedRecord } from '../../core/serde/index.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { eventually, uniqueName } from '../../test/support/services.ts';
import { testTlsIdentity } from '../../test/support/test-hub.ts';
import { componentLogger } from '../../core/logging/logger.ts';
import { validateOptions } from '../../core/runtime/validate-options.ts';
import { SinkError } from '../runtime/define-connector.ts';
import { runConnector, type RunningConnector } from '../runtime/run-connector.ts';
import { routedRecord } from '../runtime/testing.ts';
import { webhookConnector } from './webhook.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: unknown;
  status: number;
}

let platform: EmbeddedPlatform;
let server: Server;
let url: string;
/** What the receiver answers for a request; every request is recorded with the status it got. */
let answer: (body: unknown) => number = () => 204;
let received: Received[] = [];
const T0 = Date.UTC(2026, 10, 27, 9, 0, 0, 5);

/** Records in the dead-letter topic so far (its end offset). */
async function deadLetterCount(): Promise<number> {
  return (await platform.log.endOffsets(TOPICS.deadLetter)).reduce((n, p) => n + p.offset, 0);
}

before(async () => {
  platform = await openEmbeddedPlatform();
  await platform.log.createTopics([{ name: TOPICS.deadLetter, partitions: 1 }]);
  const tls = await testTlsIdentity();
  server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const status = answer(body);
      received.push({ headers: req.headers, body, status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 400 ? 'nope' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://localhost:${(server.address() as { port: number }).port}/api/events`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await platform.close();
});

function telemetry(i: number): EnrichedDeviceMessage {
  return {
    messageId: `msg-${i}`, correlationId: null, userId: null, to: null, contentType: 'application/json', contentEncoding: 'utf-8',
    expiryTime: null, creationTime: null, enqueuedTime: T0 + i * 1000, connectionDeviceId: `dev-${i % 2}`, connectionModuleId: null,
    connectionAuthMethod: '{"scope":"device","type":"sas"}', connectionDeviceGenerationId: 'g', interfaceId: null, componentName: null,
    outputName: null, ingestNode: 'node-a', protocol: 'Mqtt', properties: { seq: String(i) }, enrichments: { site: 'plant-7' }, twin: null,
    body: Buffer.from(JSON.stringify({ i, temperature: 20 + i })),
  };
}

/** Routes source records to `endpoint` as the router does and returns the endpoint topic. */
async function route(endpoint: string, sources: { topic: string; value: unknown }[]): Promise<string> {
  const topic = routeTopic(endpoint);
  await platform.log.createTopics([{ name: topic, partitions: 2 }]);
  const records = await Promise.all(sources.map((s, offset) => routedRecord(platform.serde, endpoint, s.value, { sourceTopic: s.topic, sourceOffset: offset, route: 'r' })));
  await platform.log.produce(topic, records);
  return topic;
}

async function start(topic: string, config: Record<string, unknown>): Promise<RunningConnector> {
  return runConnector(webhookConnector, {
    log: platform.log, serde: platform.serde, topics: [topic], groupId: uniqueName('webhook-group'),
    config: { url, hubName: 'hub-1', retryDelayMs: 20, maxRetryDelayMs: 100, ...config },
  });
}

async function committed(running: RunningConnector, topic: string, count: number): Promise<void> {
  await eventually(`${count} records committed`, async () => {
    const offsets = await platform.log.committedOffsets(running.groupId, topic);
    return offsets.reduce((n, c) => n + c.offset, 0) === count ? true : undefined;
  });
}

/** The dead letters `after` the first `skip` ones, as [code, dedupe id of the routed record]. */
async function deadLetters(skip: number, count: number): Promise<[string, string][]> {
  const records = (await platform.readTopic(TOPICS.deadLetter, skip + count)).slice(skip);
  return Promise.all(records.map(async (r) => {
    const dead = await platform.serde.decode<ForwardedRecord>(r.value!);
    const routed = await platform.serde.decode<ForwardedRecord>(dead.value!);
    const message = await platform.serde.decode<EnrichedDeviceMessage>(routed.value!);
    return [r.headers[DLQ_HEADERS.code]!.toString(), message.messageId!] as [string, string];
  }));
}

describe('webhook connector', () => {
  it('POSTs CloudEvents with Event Grid IoT Hub types and data, fields intact', async () => {
    received = [];
    answer = () => 200;
    const messages = Array.from({ length: 6 }, (_, i) => telemetry(i));
    const connected: DeviceConnectionEvent = { eventType: 'deviceConnected', deviceId: 'dev-0', moduleId: null, connectionId: 'c-1', ingestNode: 'node-a', protocol: 'Mqtt', eventTime: T0 - 5000 };
    const created: DeviceLifecycleEvent = { opType: 'createDeviceIdentity', deviceId: 'dev-9', identity: JSON.stringify({ deviceId: 'dev-9', status: 'enabled' }), operationTime: T0 - 9000 };
    const topic = await route(uniqueName('hook'), [
      ...messages.map((value) => ({ topic: TOPICS.deviceMessagesEnriched, value })),
      { topic: TOPICS.deviceConnections, value: connected },
      { topic: TOPICS.deviceLifecycle, value: created },
    ]);
    const running = await start(topic, { authorization: 'Bearer s3cret', headers: { 'x-extra': 'yes' } });
    try {
      await committed(running, topic, 8);
    } finally {
      await running.stop();
    }
    assert.equal(received.length, 8);
    for (const r of received) {
      assert.equal(r.headers['content-type'], 'application/cloudevents+json; charset=utf-8');
      assert.equal(r.headers.authorization, 'Bearer s3cret');
      assert.equal(r.headers['x-extra'], 'yes');
    }
    const byId = new Map(received.map((r) => [(r.body as { id: string }).id, r.body as Record<string, unknown>]));
    for (const [i, m] of messages.entries()) {
      assert.deepEqual(byId.get(`msg-${i}`), {
        specversion: '1.0', id: `msg-${i}`, source: `/hubs/hub-1/devices/dev-${i % 2}`, type: 'Microsoft.Devices.DeviceTelemetry',
        subject: `devices/dev-${i % 2}`, time: new Date(m.enqueuedTime).toISOString(), datacontenttype: 'application/json',
        data: {
          body: { i, temperature: 20 + i },
          properties: { seq: String(i), site: 'plant-7' },
          systemProperties: {
            'message-id': `msg-${i}`, 'iothub-content-type': 'application/json', 'iothub-content-encoding': 'utf-8',
            'iothub-connection-device-id': `dev-${i % 2}`, 'iothub-connection-auth-method': '{"scope":"device","type":"sas"}',
            'iothub-connection-auth-generation-id': 'g', 'iothub-enqueuedtime': new Date(m.enqueuedTime).toISOString(), 'iothub-message-source': 'Telemetry',
          },
        },
      });
    }
    const events = received.map((r) => r.body as { type: string; subject: string; time: string; data: Record<string, unknown> });
    const connectedEvent = events.find((e) => e.type === 'Microsoft.Devices.DeviceConnected');
    assert.deepEqual([connectedEvent?.subject, connectedEvent?.time, connectedEvent?.data.deviceId, connectedEvent?.data.hubName], ['devices/dev-0', new Date(T0 - 5000).toISOString(), 'dev-0', 'hub-1']);
    assert.ok((connectedEvent?.data.deviceConnectionStateEventInfo as { sequenceNumber?: string }).sequenceNumber);
    const createdEvent = events.find((e) => e.type === 'Microsoft.Devices.DeviceCreated');
    assert.deepEqual(createdEvent?.data, { twin: { deviceId: 'dev-9', status: 'enabled' }, hubName: 'hub-1', deviceId: 'dev-9' });
    // Per device, in offset order.
    for (const device of ['dev-0', 'dev-1']) {
      const seqs = events.filter((e) => e.type === 'Microsoft.Devices.DeviceTelemetry' && e.subject === `devices/${device}`).map((e) => Number((e.data.properties as { seq: string }).seq));
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    }
  });

  it('a receiver that fails twice (503, then a 429) before accepting gets each event delivered once, nothing dead-lettered', async () => {
    received = [];
    const tries = new Map<string, number>();
    answer = (body) => {
      const id = (body as { id: string }).id;
      const n = (tries.get(id) ?? 0) + 1;
      tries.set(id, n);
      return n === 1 ? 503 : n === 2 ? 429 : 201;
    };
    const deadBefore = await deadLetterCount();
    const messages = Array.from({ length: 10 }, (_, i) => telemetry(100 + i));
    const topic = await route(uniqueName('hook-flaky'), messages.map((value) => ({ topic: TOPICS.deviceMessagesEnriched, value })));
    const running = await start(topic, { maxAttempts: 3 });
    try {
      await committed(running, topic, messages.length);
    } finally {
      await running.stop();
    }
    const accepted = received.filter((r) => r.status === 201).map((r) => (r.body as { id: string }).id);
    assert.deepEqual(accepted.sort(), messages.map((m) => m.messageId!).sort(), 'each event accepted exactly once');
    assert.equal(received.length, messages.length * 3);
    assert.equal(await deadLetterCount(), deadBefore, 'nothing dead-lettered');
  });

  it('5xx after maxAttempts and 4xx at once are dead-lettered with the failed records only; the rest is delivered', async () => {
    received = [];
    // dev-0 events: always 500; event 205: 400 (bad request, never retried); the rest of dev-1: accepted.
    answer = (body) => {
      const event = body as { id: string; subject: string };
      if (event.subject === 'devices/dev-0') return 500;
      return event.id === 'msg-205' ? 400 : 202;
    };
    const deadBefore = await deadLetterCount();
    const messages = Array.from({ length: 8 }, (_, i) => telemetry(200 + i));
    const topic = await route(uniqueName('hook-down'), messages.map((value) => ({ topic: TOPICS.deviceMessagesEnriched, value })));
    const running = await start(topic, { maxAttempts: 4 });
    try {
      await committed(running, topic, messages.length);
    } finally {
      await running.stop();
    }
    const expectedDead = messages.filter((m) => m.connectionDeviceId === 'dev-0').map((m) => ['SinkWriteFailed', m.messageId!]);
    expectedDead.push(['SinkRecordRejected', 'msg-205']);
    const dead = await deadLetters(deadBefore, expectedDead.length);
    assert.deepEqual(dead.sort(), expectedDead.sort());
    const attempts = (id: string) => received.filter((r) => (r.body as { id: string }).id === id).length;
    for (const m of messages) {
      const expected = m.connectionDeviceId === 'dev-0' ? 4 : 1;
      assert.equal(attempts(m.messageId!), expected, `${m.messageId} was POSTed ${expected} times`);
    }
  });

  it('batched mode POSTs arrays of events as application/cloudevents-batch+json', async () => {
    received = [];
    answer = () => 200;
    const messages = Array.from({ length: 7 }, (_, i) => telemetry(300 + i));
    const topic = await route(uniqueName('hook-batch'), messages.map((value) => ({ topic: TOPICS.deviceMessagesEnriched, value })));
    const running = await start(topic, { batched: true, maxEventsPerRequest: 3 });
    try {
      await committed(running, topic, messages.length);
    } finally {
      await running.stop();
    }
    assert.ok(received.every((r) => r.headers['content-type'] === 'application/cloudevents-batch+json; charset=utf-8' && Array.isArray(r.body)));
    assert.ok(received.every((r) => (r.body as unknown[]).length <= 3));
    const ids = received.flatMap((r) => (r.body as { id: string }[]).map((e) => e.id));
    assert.deepEqual(ids.sort(), messages.map((m) => m.messageId!).sort());
  });

  it('network errors are retried like 5xx, then dead-lettered', async () => {
    // A port nothing listens on: connection refused on every attempt.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const deadBefore = await deadLetterCount();
    const messages = [telemetry(400), telemetry(401)];
    const topic = await route(uniqueName('hook-refused'), messages.map((value) => ({ topic: TOPICS.deviceMessagesEnriched, value })));
    const running = await start(topic, { url: `https://localhost:${port}/`, maxAttempts: 2 });
    try {
      await committed(running, topic, messages.length);
    } finally {
      await running.stop();
    }
    assert.deepEqual((await deadLetters(deadBefore, 2)).sort(), [['SinkWriteFailed', 'msg-400'], ['SinkWriteFailed', 'msg-401']]);
  });

  it('closing the connector while it waits to retry fails the batch retriably (so the runtime neither dead-letters nor commits it)', async () => {
    received = [];
    answer = () => 500;
    const topic = await route(uniqueName('hook-close'), [{ topic: TOPICS.deviceMessagesEnriched, value: telemetry(500) }]);
    const records = await platform.readTopic(topic, 1);
    const config = validateOptions('webhook', webhookConnector.configSchema, { url, retryDelayMs: 60_000, maxRetryDelayMs: 60_000 });
    const sink = await webhookConnector.create(config, { logger: componentLogger('test'), serde: platform.serde, log: platform.log });
    const writing = sink.writeBatch({ topic, partition: records[0]!.partition, records });
    await eventually('the first attempt', () => (received.length === 1 ? true : undefined));
    await sink.close();
    const error = await writing.then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof SinkError && error.retriable, `retriable SinkError (got ${String(error)})`);
  });
});
