import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TOPICS } from '../../core/log/topics.ts';
import type { LogRecord } from '../../core/log/types.ts';
import { componentLogger } from '../../core/logging/logger.ts';
import { metricsRegistry } from '../../core/metrics/registry.ts';
import { DLQ_HEADERS } from '../../core/runtime/dead-letter.ts';
import type { EnrichedDeviceMessage, ForwardedRecord, TwinChange } from '../../core/serde/index.ts';
import { PgliteStore, migrate } from '../../core/store/index.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { eventually } from '../../test/support/services.ts';
import { ENRICHMENT_ENDPOINTS_HEADER } from '../enrich/enrichments.ts';
import { runProcessor } from '../runtime/run-processor.ts';
import { createRouter } from './router.ts';
import { RouteStore } from './routes.ts';

let platform: EmbeddedPlatform;
let store: PgliteStore;
let routes: RouteStore;
const ENDPOINTS = ['events', 'hot', 'alarms', 'building43', 'twin', 'late'];

before(async () => {
  platform = await openEmbeddedPlatform();
  store = await PgliteStore.open();
  await migrate(store);
  routes = new RouteStore(store);
  await platform.log.createTopics([
    { name: TOPICS.deviceMessagesEnriched, partitions: 2 },
    { name: TOPICS.twinChanges, partitions: 2 },
    { name: TOPICS.deviceLifecycle, partitions: 1 },
    { name: TOPICS.deviceConnections, partitions: 1 },
    { name: 'late-input', partitions: 1 },
    { name: TOPICS.deadLetter, partitions: 1 },
    ...ENDPOINTS.map((e) => ({ name: `iot.route.${e}`, partitions: 2 })),
  ]);
  for (const name of ['hot', 'alarms', 'building43', 'twin', 'late']) await routes.putEndpoint({ name, type: 'kafka' });
  await routes.putRoute({ name: 'hot-body', source: 'DeviceMessages', condition: '$body.temperature > 30', endpointNames: ['hot', 'alarms'] });
  await routes.putRoute({ name: 'critical', source: 'DeviceMessages', condition: "level = 'critical'", endpointNames: ['alarms'] });
  await routes.putRoute({ name: 'b43', source: 'DeviceMessages', condition: "$twin.tags.building = '43'", endpointNames: ['building43'] });
  await routes.putRoute({ name: 'special-device', source: 'DeviceMessages', condition: "$connectionDeviceId = 'special'", endpointNames: ['alarms'] });
  await routes.putRoute({ name: 'switched-off', source: 'DeviceMessages', condition: 'true', endpointNames: ['late'], isEnabled: false });
  await routes.putRoute({ name: 'firmware', source: 'TwinChangeEvents', condition: "$body.properties.reported.fw = '2.0'", endpointNames: ['twin'] });
});
after(async () => {
  await store.close();
  await platform.close();
});

let seq = 0;
function message(deviceId: string, body: string, extra: Partial<EnrichedDeviceMessage> = {}): EnrichedDeviceMessage {
  return {
    messageId: `${deviceId}-${seq++}`, contentType: 'application/json', contentEncoding: 'utf-8', enqueuedTime: 1_767_225_600_000,
    connectionDeviceId: deviceId, ingestNode: 'test', protocol: 'Mqtt', properties: {}, body: Buffer.from(body), ...extra,
  };
}

async function produce(topic: string, messages: EnrichedDeviceMessage[]): Promise<void> {
  await platform.log.produce(topic, await Promise.all(messages.map(async (m) => ({ key: m.connectionDeviceId, value: await platform.serde.encode(TOPICS.deviceMessagesEnriched, m) }))));
}

async function total(topic: string): Promise<number> {
  return (await platform.log.endOffsets(topic)).reduce((n, p) => n + p.offset, 0);
}

async function originals(records: LogRecord[]): Promise<Array<{ forwarded: ForwardedRecord; message: EnrichedDeviceMessage }>> {
  return Promise.all(records.map(async (r) => {
    const forwarded = await platform.serde.decode<ForwardedRecord>(r.value!);
    return { forwarded, message: await platform.serde.decode<EnrichedDeviceMessage>(forwarded.value!) };
  }));
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const values = (await metricsRegistry.getSingleMetric(name)!.get()).values;
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

test('routes by body, application property, system property and twin tag; fallback, dedup, dead letters, order', async () => {
  const inOrder = Array.from({ length: 6 }, (_, i) => message('d-seq', JSON.stringify({ temperature: 40 + i, i })));
  await produce(TOPICS.deviceMessagesEnriched, [
    message('d1', '{"temperature":35}', { properties: { level: 'critical' } }), // hot + alarms (two routes → alarms once)
    message('d2', '{"temperature":20}', { twin: JSON.stringify({ tags: { building: '43' } }) }), // building43
    message('d3', '{"temperature":20}', { twin: JSON.stringify({ tags: { building: '44' } }) }), // nothing → events
    message('special', '{"temperature":10}'), // alarms
    message('d5', '{"temperature":99}', { contentType: 'text/plain' }), // body not looked into → events
    message('d6', '{"temperature":', { properties: { level: 'critical' } }), // hot-body throws → dead letter
    ...inOrder, // hot + alarms, in order
  ]);
  const change: TwinChange = { opType: 'updateTwin', deviceId: 'd2', version: 3, reportedPatch: '{"fw":"2.0"}', operationTime: 1_767_225_600_000 };
  await platform.log.produce(TOPICS.twinChanges, [{ key: 'd2', value: await platform.serde.encode(TOPICS.twinChanges, change) }]);

  const running = await runProcessor(createRouter({ routes, log: platform.log }), { log: platform.log, serde: platform.serde, config: {} });
  try {
    const hot = await originals(await platform.readTopic('iot.route.hot', 7));
    assert.deepEqual(hot.map((h) => h.message.connectionDeviceId).sort(), ['d-seq', 'd-seq', 'd-seq', 'd-seq', 'd-seq', 'd-seq', 'd1']);
    assert.deepEqual(hot.filter((h) => h.message.connectionDeviceId === 'd-seq').map((h) => h.message.messageId), inOrder.map((m) => m.messageId), 'per-device order kept');
    assert.ok(hot.every((h) => h.forwarded.route === 'hot-body' && h.forwarded.endpoint === 'hot'));

    const alarms = await originals(await platform.readTopic('iot.route.alarms', 8));
    assert.deepEqual(alarms.map((a) => a.message.connectionDeviceId).sort(), ['d-seq', 'd-seq', 'd-seq', 'd-seq', 'd-seq', 'd-seq', 'd1', 'special']);
    assert.equal(alarms.find((a) => a.message.connectionDeviceId === 'd1')!.forwarded.route, 'critical', 'first matching route by name is credited');

    const [b43] = await originals(await platform.readTopic('iot.route.building43', 1));
    assert.equal(b43!.message.connectionDeviceId, 'd2');
    const events = await originals(await platform.readTopic('iot.route.events', 2));
    assert.deepEqual(events.map((e) => e.message.connectionDeviceId).sort(), ['d3', 'd5']);
    assert.ok(events.every((e) => e.forwarded.route === '$fallback'));

    const [twin] = await platform.readTopic('iot.route.twin', 1);
    const twinForwarded = await platform.serde.decode<ForwardedRecord>(twin!.value!);
    assert.equal(twinForwarded.route, 'firmware');
    assert.equal(twin!.key!.toString(), 'd2');

    const [dead] = await platform.readTopic(TOPICS.deadLetter, 1);
    assert.equal(dead!.headers[DLQ_HEADERS.code]!.toString(), 'ArgumentInvalid');
    const deadValue = await platform.serde.decode<ForwardedRecord>(dead!.value!);
    assert.match(deadValue.errorMessage ?? '', /route hot-body/);
    assert.equal((await platform.serde.decode<EnrichedDeviceMessage>(deadValue.value!)).connectionDeviceId, 'd6');

    await eventually('input committed', async () => {
      const committed = await platform.log.committedOffsets(running.groupId, TOPICS.deviceMessagesEnriched);
      return committed.reduce((n, c) => n + c.offset, 0) === 12 ? true : undefined;
    });
  } finally {
    await running.stop();
  }
  // Exactly these records and no more: the disabled route sent nothing, d6 went nowhere but the dead-letter topic.
  assert.deepEqual(
    await Promise.all(['hot', 'alarms', 'building43', 'events', 'twin', 'late'].map((e) => total(`iot.route.${e}`))),
    [7, 8, 1, 2, 1, 0],
  );
  assert.equal(await total(TOPICS.deadLetter), 1);
  assert.equal(await metric('tributary_router_route_matched_total', { route: 'critical' }), 1);
  assert.equal(await metric('tributary_router_route_delivered_total', { route: 'hot-body', endpoint: 'alarms' }), 6);
  assert.equal(await metric('tributary_router_route_delivered_total', { route: '$fallback', endpoint: 'events' }), 2);
  assert.equal(await metric('tributary_router_route_dead_lettered_total', { route: 'hot-body' }), 1);
});

test('a route added while the router runs takes effect without a restart', async () => {
  const eventsBefore = await total('iot.route.events');
  const running = await runProcessor(createRouter({ routes }), {
    log: platform.log, serde: platform.serde, groupId: 'router-reload',
    config: { sources: ['DeviceMessages'], topics: { DeviceMessages: 'late-input' }, reloadIntervalMs: 0 },
  });
  try {
    await produce('late-input', [message('r1', 'x', { contentType: 'text/plain', properties: { level: 'late' } })]);
    await eventually('first message reached the fallback', async () => ((await total('iot.route.events')) === eventsBefore + 1 ? true : undefined));
    await routes.putRoute({ name: 'late-route', source: 'DeviceMessages', condition: "level = 'late'", endpointNames: ['late'] });
    await produce('late-input', [message('r2', 'x', { contentType: 'text/plain', properties: { level: 'late' } })]);
    const [late] = await originals(await platform.readTopic('iot.route.late', 1));
    assert.equal(late!.message.connectionDeviceId, 'r2');
    assert.equal(late!.forwarded.route, 'late-route');
    await eventually('second message committed', async () => ((await platform.log.committedOffsets(running.groupId, 'late-input'))[0]?.offset === 2 ? true : undefined));
  } finally {
    await running.stop();
    await routes.deleteRoute('late-route');
  }
  assert.equal(await total('iot.route.events'), eventsBefore + 1, 'the matched message did not also go to the fallback');
  assert.equal(await total('iot.route.late'), 1);
});

test('a delivery carries only the enrichments scoped to its endpoint; the scope header is not forwarded', async () => {
  for (const name of ['sa', 'sb', 'sc']) await routes.putEndpoint({ name, type: 'kafka' });
  await platform.log.createTopics([{ name: 'scoped-input', partitions: 1 }, ...['sa', 'sb', 'sc'].map((e) => ({ name: `iot.route.${e}`, partitions: 1 }))]);
  await routes.putRoute({ name: 'scoped', source: 'DeviceMessages', condition: "level = 'scoped'", endpointNames: ['sa', 'sb', 'sc'] });
  const original = message('e1', '{}', { properties: { level: 'scoped' }, enrichments: { building: '43', site: 'plant-7', tier: 'gold' } });
  const value = await platform.serde.encode(TOPICS.deviceMessagesEnriched, original);
  const scope = JSON.stringify({ building: ['sa'], tier: ['sa', 'sb'] });
  await platform.log.produce('scoped-input', [{ key: 'e1', value, headers: { [ENRICHMENT_ENDPOINTS_HEADER]: scope, 'x-kept': 'yes' } }]);

  const running = await runProcessor(createRouter({ routes }), {
    log: platform.log, serde: platform.serde, groupId: 'router-scoped',
    config: { sources: ['DeviceMessages'], topics: { DeviceMessages: 'scoped-input' }, reloadIntervalMs: 0 },
  });
  try {
    const delivered = async (endpoint: string) => {
      const [record] = await platform.readTopic(`iot.route.${endpoint}`, 1);
      const forwarded = await platform.serde.decode<ForwardedRecord>(record!.value!);
      return { forwarded, message: await platform.serde.decode<EnrichedDeviceMessage>(forwarded.value!) };
    };
    const sa = await delivered('sa');
    const sb = await delivered('sb');
    const sc = await delivered('sc');
    assert.deepEqual(sa.message.enrichments, { building: '43', site: 'plant-7', tier: 'gold' });
    assert.ok(sa.forwarded.value!.equals(value), 'an endpoint that keeps every enrichment gets the original bytes');
    assert.deepEqual(sb.message.enrichments, { site: 'plant-7', tier: 'gold' });
    assert.deepEqual(sc.message.enrichments, { site: 'plant-7' });
    for (const d of [sa, sb, sc]) {
      assert.equal(d.forwarded.headers?.[ENRICHMENT_ENDPOINTS_HEADER], undefined, 'the scope header is applied, not forwarded');
      assert.equal(d.forwarded.headers?.['x-kept']?.toString(), 'yes');
      assert.deepEqual({ ...d.message, enrichments: undefined }, { ...sa.message, enrichments: undefined }, 'only the enrichments differ');
    }
    assert.equal(sb.message.body.toString(), '{}');
  } finally {
    await running.stop();
    await routes.deleteRoute('scoped');
  }
});

test('route metrics are counted when the batch is committed, once even when the batch was processed twice', async () => {
  await routes.putRoute({ name: 'counted-once', source: 'DeviceMessages', condition: "level = 'count-me'", endpointNames: ['hot'] });
  try {
    const router = await createRouter({ routes }).create(
      { topics: { DeviceMessages: 'count-input', TwinChangeEvents: 'x', DeviceLifecycleEvents: 'y', DeviceConnectionStateEvents: 'z' }, sources: ['DeviceMessages'], reloadIntervalMs: 0, endpointPartitions: 1, evaluator: 'compiled' },
      { serde: platform.serde, logger: componentLogger('router-test') },
    );
    const records: LogRecord[] = await Promise.all([0, 1, 2].map(async (offset) => ({
      topic: 'count-input', partition: 0, offset, key: Buffer.from('c1'), headers: {}, timestamp: 0,
      value: await platform.serde.encode(TOPICS.deviceMessagesEnriched, message('c1', '{}', { properties: { level: offset < 2 ? 'count-me' : 'other' } })),
    })));
    const ctx = { logger: componentLogger('router-test'), headers: {} };
    const fallbackBefore = await metric('tributary_router_route_matched_total', { route: '$fallback' });
    for (const r of records) await router.process(r, ctx); // first attempt: the batch fails later and is replayed
    for (const r of records) await router.process(r, ctx); // the replay
    assert.equal(await metric('tributary_router_route_matched_total', { route: 'counted-once' }), 0, 'nothing counted before the commit');
    router.onCommitted!({ topic: 'count-input', partition: 0, nextOffset: 2 });
    assert.equal(await metric('tributary_router_route_matched_total', { route: 'counted-once' }), 2);
    assert.equal(await metric('tributary_router_route_delivered_total', { route: 'counted-once', endpoint: 'hot' }), 2);
    router.onCommitted!({ topic: 'count-input', partition: 0, nextOffset: 3 });
    router.onCommitted!({ topic: 'count-input', partition: 0, nextOffset: 3 });
    assert.equal(await metric('tributary_router_route_matched_total', { route: 'counted-once' }), 2, 'offset 2 matched the fallback, not this route; a second commit counts nothing');
    assert.equal(await metric('tributary_router_route_matched_total', { route: '$fallback' }), fallbackBefore + 1, 'offset 2 went to the fallback, counted once');
  } finally {
    await routes.deleteRoute('counted-once');
  }
});
