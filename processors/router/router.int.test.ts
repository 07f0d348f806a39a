/**
 * The router on real Kafka (127.0.0.1:9092 or TRIBUTARY_KAFKA_BROKERS): unique input topics and endpoint names per
 * run, the endpoint topics created by the router itself (auto topic creation is off on the broker).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaLog } from '../../core/log/kafka/kafka-log.ts';
import type { LogRecord } from '../../core/log/types.ts';
import type { EnrichedDeviceMessage, ForwardedRecord } from '../../core/serde/index.ts';
import { PgliteStore, migrate } from '../../core/store/index.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { eventually, services, uniqueName } from '../../test/support/services.ts';
import { runProcessor } from '../runtime/run-processor.ts';
import { createRouter } from './router.ts';
import { RouteStore } from './routes.ts';

let log: KafkaLog;
let platform: EmbeddedPlatform; // for its serde only
let store: PgliteStore;
let routes: RouteStore;
const id = uniqueName('router').replaceAll('.', '-');
const input = `test.${id}.enriched`;
const hot = `hot-${id}`;
const rest = `rest-${id}`;
const topicsCreated = [input, `iot.route.${hot}`, `iot.route.${rest}`];

before(async () => {
  log = await KafkaLog.connect({ brokers: services.kafkaBrokers, clientId: 'router-int' });
  platform = await openEmbeddedPlatform();
  store = await PgliteStore.open();
  await migrate(store);
  routes = new RouteStore(store);
  await log.createTopics([{ name: input, partitions: 3 }]);
  await routes.putEndpoint({ name: hot, type: 'kafka' });
  await routes.putEndpoint({ name: rest, type: 'kafka' });
  await routes.putRoute({ name: 'hot', source: 'DeviceMessages', condition: "$body.temperature > 30 OR level = 'critical'", endpointNames: [hot] });
  await routes.putRoute({ name: 'b43', source: 'DeviceMessages', condition: "$twin.tags.building = '43'", endpointNames: [hot] });
  await routes.putFallback({ endpointNames: [rest] });
});
after(async () => {
  await log.deleteTopics(topicsCreated).catch(() => undefined);
  await log.close();
  await store.close();
  await platform.close();
});

async function read(topic: string, count: number): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  const consumer = log.consumer({ groupId: uniqueName('router-int-reader'), topics: [topic], fromBeginning: true });
  await consumer.start(async (batch) => {
    records.push(...batch.records);
  });
  try {
    await eventually(`${count} records on ${topic}`, () => (records.length >= count ? true : undefined));
  } finally {
    await consumer.stop();
  }
  return records;
}

test('on Kafka: each device message lands once in the endpoint its body, property or twin selects, in device order', async () => {
  const messages: EnrichedDeviceMessage[] = Array.from({ length: 60 }, (_, i) => {
    const device = `dev-${i % 4}`;
    const kind = i % 3; // 0: hot body, 1: critical + twin building 43 (two routes, one endpoint), 2: neither
    return {
      messageId: `m-${i}`, contentType: 'application/json', contentEncoding: 'utf-8', enqueuedTime: 1_767_225_600_000 + i,
      connectionDeviceId: device, ingestNode: 'test', protocol: 'Mqtt',
      properties: kind === 1 ? { level: 'critical' } : ({} as Record<string, string>),
      twin: kind === 1 ? '{"tags":{"building":"43"}}' : null,
      body: Buffer.from(JSON.stringify({ temperature: kind === 0 ? 40 : 10, i })),
    };
  });
  await log.produce(input, await Promise.all(messages.map(async (m) => ({ key: m.connectionDeviceId, value: await platform.serde.encode('iot.device.messages.enriched', m) }))));

  const running = await runProcessor(createRouter({ routes, log }), {
    log, serde: platform.serde, groupId: uniqueName('router-int'),
    config: { sources: ['DeviceMessages'], topics: { DeviceMessages: input }, reloadIntervalMs: 0, endpointPartitions: 3 },
  });
  try {
    await eventually('endpoint topics created by the router', async () => {
      const topics = await log.listTopics();
      return topics.includes(`iot.route.${hot}`) && topics.includes(`iot.route.${rest}`) ? true : undefined;
    });
    const decode = async (records: LogRecord[]) => Promise.all(records.map(async (r) => {
      const forwarded = await platform.serde.decode<ForwardedRecord>(r.value!);
      return { key: r.key!.toString(), forwarded, message: await platform.serde.decode<EnrichedDeviceMessage>(forwarded.value!) };
    }));
    const hotRecords = await decode(await read(`iot.route.${hot}`, 40));
    const restRecords = await decode(await read(`iot.route.${rest}`, 20));
    const expectHot = messages.filter((_, i) => i % 3 !== 2).map((m) => m.messageId);
    assert.deepEqual(hotRecords.map((r) => r.message.messageId).sort(), [...expectHot].sort(), 'each selected message exactly once');
    assert.deepEqual(restRecords.map((r) => r.message.messageId).sort(), messages.filter((_, i) => i % 3 === 2).map((m) => m.messageId!).sort());
    assert.ok(restRecords.every((r) => r.forwarded.route === '$fallback'));
    for (const device of ['dev-0', 'dev-1', 'dev-2', 'dev-3']) {
      const seen = hotRecords.filter((r) => r.key === device).map((r) => r.message.messageId);
      assert.deepEqual(seen, expectHot.filter((mid) => messages.find((m) => m.messageId === mid)!.connectionDeviceId === device), `order of ${device}`);
    }
  } finally {
    await running.stop();
  }
});
