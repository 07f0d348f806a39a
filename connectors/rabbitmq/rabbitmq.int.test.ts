/**
 * The RabbitMQ connector against the real broker (vhost `tributary`, TRIBUTARY_AMQP_URL): unique queue and exchange
 * names per run, deleted afterwards. Records are routed device messages on the embedded log, drained by the real
 * connector runtime. The outage is made by a TCP proxy in front of the broker that the test cuts mid-batch and keeps
 * closed for a while (the broker's management API is not enabled on these machines, and the broker is shared).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { connect, type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { TOPICS, routeTopic } from '../../core/log/topics.ts';
import type { LogRecord } from '../../core/log/types.ts';
import { componentLogger } from '../../core/logging/logger.ts';
import { metricsRegistry } from '../../core/metrics/registry.ts';
import { DLQ_HEADERS } from '../../core/runtime/dead-letter.ts';
import { validateOptions } from '../../core/runtime/validate-options.ts';
import type { EnrichedDeviceMessage, ForwardedRecord } from '../../core/serde/index.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { eventually, services, uniqueName } from '../../test/support/services.ts';
import { TributaryError } from '../../core/errors/index.ts';
import { SinkError } from '../runtime/define-connector.ts';
import { runConnector } from '../runtime/run-connector.ts';
import { routedRecord } from '../runtime/testing.ts';
import { rabbitmqConnector } from './rabbitmq.ts';

let platform: EmbeddedPlatform;
let admin: ChannelModel;
let channel: Channel;
const queues: string[] = [];
const exchanges: string[] = [];
const T0 = Date.UTC(2026, 10, 27, 8, 0, 0, 123);

/** Records in the dead-letter topic so far (its end offset). */
async function deadLetterCount(): Promise<number> {
  return (await platform.log.endOffsets(TOPICS.deadLetter)).reduce((n, p) => n + p.offset, 0);
}

before(async () => {
  platform = await openEmbeddedPlatform();
  await platform.log.createTopics([{ name: TOPICS.deadLetter, partitions: 1 }]);
  admin = await connect(services.amqpUrl);
  channel = await admin.createChannel();
});
after(async () => {
  for (const q of queues) await channel.deleteQueue(q).catch(() => {});
  for (const e of exchanges) await channel.deleteExchange(e).catch(() => {});
  await admin.close();
  await platform.close();
});

function telemetry(i: number, overrides: Partial<EnrichedDeviceMessage> = {}): EnrichedDeviceMessage {
  return {
    messageId: i % 5 === 4 ? null : `msg-${i}`, correlationId: `corr-${i}`, userId: i % 3 === 0 ? 'guest' : i % 3 === 1 ? `device-user-${i}` : null,
    to: null, contentType: 'application/json', contentEncoding: 'utf-8', expiryTime: null, creationTime: null,
    enqueuedTime: T0 + i * 1001, connectionDeviceId: `dev-${i % 3}`, connectionModuleId: null, connectionAuthMethod: '{"scope":"device","type":"sas"}',
    connectionDeviceGenerationId: 'gen-1', interfaceId: null, componentName: null, outputName: null, ingestNode: 'node-a', protocol: 'Mqtt',
    properties: { seq: String(i), kind: i % 2 === 0 ? 'even' : 'odd' }, enrichments: { site: 'plant-7' }, twin: null,
    body: Buffer.from(JSON.stringify({ i, temperature: 20 + i / 10 })),
    ...overrides,
  };
}

/** Routes `messages` to `endpoint` as the router does: ForwardedRecord around the Avro-encoded enriched message. */
async function route(endpoint: string, messages: EnrichedDeviceMessage[], firstOffset = 0): Promise<void> {
  const records = await Promise.all(messages.map((m, n) => routedRecord(platform.serde, endpoint, m, { sourceOffset: firstOffset + n, route: 'all' })));
  await platform.log.produce(routeTopic(endpoint), records);
}

async function drain(queue: string, count: number, timeoutMs = 60_000): Promise<GetMessage[]> {
  const got: GetMessage[] = [];
  await eventually(`${count} messages on ${queue}`, async () => {
    for (let m = await channel.get(queue, { noAck: true }); m; m = await channel.get(queue, { noAck: true })) got.push(m);
    return got.length >= count ? true : undefined;
  }, timeoutMs);
  return got;
}

async function retries(): Promise<number> {
  const metric = await metricsRegistry.getSingleMetric('tributary_connector_write_retries_total')?.get();
  return metric?.values.find((v) => v.labels.connector === 'rabbitmq')?.value ?? 0;
}

describe('rabbitmq connector', () => {
  it('publishes routed messages to a durable queue with IoT Hub properties mapped to AMQP', async () => {
    const endpoint = uniqueName('rmq-q');
    const queue = uniqueName('tributary-test-q');
    queues.push(queue);
    await platform.log.createTopics([{ name: routeTopic(endpoint), partitions: 2 }]);
    const sent = Array.from({ length: 30 }, (_, i) => telemetry(i));
    await route(endpoint, sent);

    const running = await runConnector(rabbitmqConnector, {
      log: platform.log, serde: platform.serde, topics: [routeTopic(endpoint)], groupId: uniqueName('rmq-q-group'),
      config: { url: services.amqpUrl, queue },
    });
    try {
      const got = await drain(queue, sent.length);
      assert.equal(got.length, sent.length);
      const bySeq = new Map(got.map((m) => [String(m.properties.headers?.seq), m]));
      for (const [i, m] of sent.entries()) {
        const amqp = bySeq.get(String(i));
        assert.ok(amqp, `message ${i} arrived`);
        assert.deepEqual(amqp.content, m.body);
        const p = amqp.properties;
        const position = `${TOPICS.deviceMessagesEnriched}/0/${i}`;
        assert.equal(p.messageId, m.messageId ?? position);
        assert.equal(p.correlationId, `corr-${i}`);
        assert.equal(p.contentType, 'application/json');
        assert.equal(p.contentEncoding, 'utf-8');
        assert.equal(p.deliveryMode, 2, 'persistent');
        assert.equal(p.timestamp, Math.floor(m.enqueuedTime / 1000));
        // RabbitMQ accepts user-id only when it is the connection's user; other values travel as a header.
        assert.equal(p.userId, m.userId === 'guest' ? 'guest' : undefined);
        assert.equal(p.headers?.['user-id'], m.userId !== null && m.userId !== 'guest' ? m.userId : undefined);
        assert.equal(p.headers?.kind, i % 2 === 0 ? 'even' : 'odd');
        assert.equal(p.headers?.site, 'plant-7');
        assert.equal(p.headers?.['iothub-connection-device-id'], `dev-${i % 3}`);
        assert.equal(p.headers?.['iothub-connection-auth-method'], '{"scope":"device","type":"sas"}');
        assert.equal(p.headers?.['iothub-enqueuedtime'], new Date(T0 + i * 1001).toISOString());
        assert.equal(p.headers?.['iothub-message-source'], 'Telemetry');
        assert.equal(p.headers?.['tributary-dedupe-id'], m.messageId ?? position);
        assert.equal(p.headers?.['tributary-endpoint'], endpoint);
        assert.equal(p.headers?.['message-id'], undefined, 'mapped properties are not repeated as headers');
      }
      await eventually('offsets committed', async () => {
        const committed = await platform.log.committedOffsets(running.groupId, routeTopic(endpoint));
        return committed.reduce((n, c) => n + c.offset, 0) === sent.length ? true : undefined;
      });
    } finally {
      await running.stop();
    }
  });

  it('publishes to an exchange with a routing-key template; unroutable messages are dead-lettered, not dropped', async () => {
    const endpoint = uniqueName('rmq-x');
    const exchange = uniqueName('tributary-test-x');
    const queue = uniqueName('tributary-test-xq');
    exchanges.push(exchange);
    queues.push(queue);
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, exchange, 'devices.dev-0.*');
    await channel.bindQueue(queue, exchange, 'devices.dev-1.*');
    await platform.log.createTopics([{ name: routeTopic(endpoint), partitions: 1 }]);
    const sent = Array.from({ length: 12 }, (_, i) => telemetry(i));
    await route(endpoint, sent);
    const deadBefore = await deadLetterCount();

    const running = await runConnector(rabbitmqConnector, {
      log: platform.log, serde: platform.serde, topics: [routeTopic(endpoint)], groupId: uniqueName('rmq-x-group'),
      config: { url: services.amqpUrl, exchange, routingKey: 'devices.{deviceId}.{properties.kind}' },
    });
    try {
      const routable = sent.filter((m) => m.connectionDeviceId !== 'dev-2');
      const got = await drain(queue, routable.length);
      assert.deepEqual(got.map((m) => m.fields.routingKey).sort(), routable.map((m) => `devices.${m.connectionDeviceId}.${m.properties?.kind}`).sort());
      const dead = (await platform.readTopic(TOPICS.deadLetter, deadBefore + sent.length - routable.length)).slice(deadBefore);
      const deadSeqs = [];
      for (const r of dead) {
        assert.equal(r.headers[DLQ_HEADERS.code]?.toString(), 'SinkRecordRejected');
        const forwarded = await platform.serde.decode<ForwardedRecord>(r.value!);
        const original = await platform.serde.decode<ForwardedRecord>(forwarded.value!);
        deadSeqs.push((await platform.serde.decode<EnrichedDeviceMessage>(original.value!)).properties?.seq);
      }
      assert.deepEqual(deadSeqs.sort(), sent.flatMap((m, i) => (m.connectionDeviceId === 'dev-2' ? [String(i)] : [])).sort());
    } finally {
      await running.stop();
    }
  });

  it('connect: a wrong vhost or a mismatching existing queue fails start-up; a broker that is down does not', async () => {
    const deps = { logger: componentLogger('test'), serde: platform.serde, log: platform.log };
    const create = (config: Record<string, unknown>) => rabbitmqConnector.create(validateOptions('rabbitmq', rabbitmqConnector.configSchema, config), deps);
    const badVhost = new URL(services.amqpUrl);
    badVhost.pathname = `/${uniqueName('no-such-vhost')}`;
    await assert.rejects((await create({ url: badVhost.toString(), queue: 'q' })).connect(), (e: unknown) => e instanceof TributaryError && e.code === 'ConfigInvalid');
    const existing = uniqueName('tributary-test-args');
    queues.push(existing);
    await channel.assertQueue(existing, { durable: true, arguments: { 'x-max-length': 10 } });
    await assert.rejects((await create({ url: services.amqpUrl, queue: existing })).connect(), (e: unknown) => e instanceof TributaryError && e.code === 'ConfigInvalid');
    const nothing = new URL(services.amqpUrl);
    nothing.port = '1'; // nothing listens on port 1
    const down = await create({ url: nothing.toString(), queue: 'q' });
    await down.connect();
    await down.close();
  });

  it('a queue deleted under the connector: the batch fails retriably and the next attempt declares the queue again', async () => {
    const endpoint = uniqueName('rmq-del');
    const queue = uniqueName('tributary-test-del');
    queues.push(queue);
    await platform.log.createTopics([{ name: routeTopic(endpoint), partitions: 1 }]);
    await route(endpoint, [telemetry(0), telemetry(1)]);
    const records = await platform.readTopic(routeTopic(endpoint), 2);
    const sink = await rabbitmqConnector.create(validateOptions('rabbitmq', rabbitmqConnector.configSchema, { url: services.amqpUrl, queue }), { logger: componentLogger('test'), serde: platform.serde, log: platform.log });
    await sink.connect();
    try {
      await sink.writeBatch({ topic: routeTopic(endpoint), partition: 0, records: records.slice(0, 1) });
      await channel.deleteQueue(queue);
      const error = await sink.writeBatch({ topic: routeTopic(endpoint), partition: 0, records: records.slice(1) }).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof SinkError && error.retriable, `retriable SinkError (got ${String(error)})`);
      await sink.writeBatch({ topic: routeTopic(endpoint), partition: 0, records: records.slice(1) });
      const got = await drain(queue, 1);
      assert.deepEqual(got.map((m) => m.properties.messageId), ['msg-1']);
    } finally {
      await sink.close();
    }
  });

  it('a broker connection lost mid-batch is a retriable error; the next attempt reconnects and nothing is lost', async () => {
    const endpoint = uniqueName('rmq-cut');
    const queue = uniqueName('tributary-test-cut');
    queues.push(queue);
    await platform.log.createTopics([{ name: routeTopic(endpoint), partitions: 2 }]);
    const proxy = new CuttableProxy(new URL(services.amqpUrl));
    await proxy.open();
    const url = new URL(services.amqpUrl);
    url.port = String(proxy.port);
    const config = { url: url.toString(), queue };

    // The sink on its own first, to see the error the runtime gets.
    const sink = await rabbitmqConnector.create(validateOptions('rabbitmq', rabbitmqConnector.configSchema, config), { logger: componentLogger('test'), serde: platform.serde, log: platform.log });
    await sink.connect();
    const batch = Array.from({ length: 400 }, (_, i) => telemetry(i, { body: Buffer.alloc(2000, i % 256) }));
    await route(endpoint, batch);
    const records = await platform.readTopic(routeTopic(endpoint), batch.length);
    const byPartition = new Map<number, LogRecord[]>();
    for (const r of records) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r]);
    const [partition, partitionRecords] = [...byPartition.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
    proxy.cutAfterBytes(100_000); // mid-batch: about a quarter of the partition's bytes
    const error = await sink.writeBatch({ topic: routeTopic(endpoint), partition, records: partitionRecords }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof SinkError, `writeBatch rejected with a SinkError (got ${String(error)})`);
    assert.equal(error.retriable, true);
    // While the broker stays unreachable, every attempt is retriable too.
    const again = await sink.writeBatch({ topic: routeTopic(endpoint), partition, records: partitionRecords.slice(0, 1) }).then(() => undefined, (e: unknown) => e);
    assert.ok(again instanceof SinkError && again.retriable, 'unreachable broker: retriable');
    await sink.close();

    // Now the whole pipeline through the cut: the runtime retries until the proxy is back, then commits.
    await proxy.open();
    const retriesBefore = await retries();
    const running = await runConnector(rabbitmqConnector, {
      log: platform.log, serde: platform.serde, topics: [routeTopic(endpoint)], groupId: uniqueName('rmq-cut-group'), config,
    });
    try {
      proxy.cutAfterBytes(150_000);
      await eventually('the connector to hit the cut and retry', async () => ((await retries()) > retriesBefore ? true : undefined));
      setTimeout(() => void proxy.open(), 1500);
      await eventually('every record committed', async () => {
        const committed = await platform.log.committedOffsets(running.groupId, routeTopic(endpoint));
        return committed.reduce((n, c) => n + c.offset, 0) === batch.length ? true : undefined;
      }, 120_000);
      const got = await drain(queue, batch.length);
      const seqs = new Set(got.map((m) => String(m.properties.headers?.seq)));
      assert.deepEqual([...seqs].sort(), batch.map((_, i) => String(i)).sort(), 'every message arrived at least once');
      const ids = new Set(got.map((m) => String(m.properties.headers?.['tributary-dedupe-id'])));
      assert.equal(ids.size, batch.length, 'one dedupe id per message, so consumers can drop the duplicates');
    } finally {
      await running.stop();
      await proxy.close();
    }
  });
});

/** A TCP proxy to the broker that can be cut after N client bytes and stays closed (connection refused) until reopened. */
class CuttableProxy {
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private budget = Infinity;

  constructor(private readonly target: URL) {}

  async open(): Promise<void> {
    this.budget = Infinity;
    const server = createServer((client) => {
      const upstream = tcpConnect(Number(this.target.port || 5672), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.on('data', (chunk: Buffer) => {
        this.budget -= chunk.length;
        if (this.budget < 0) return this.cut();
        upstream.write(chunk);
      });
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  cutAfterBytes(bytes: number): void {
    this.budget = bytes;
  }

  /** Drops every connection and stops listening, as a broker that went away. */
  cut(): void {
    this.server?.close();
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
  }
}
