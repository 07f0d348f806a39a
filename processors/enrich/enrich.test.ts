import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TributaryError } from '../../core/errors/index.ts';
import { TOPICS } from '../../core/log/topics.ts';
import type { LogRecord } from '../../core/log/types.ts';
import { metricsRegistry } from '../../core/metrics/registry.ts';
import { DeviceRegistry } from '../../core/registry/index.ts';
import { DLQ_HEADERS } from '../../core/runtime/dead-letter.ts';
import type { DeviceMessage, EnrichedDeviceMessage, ForwardedRecord, TwinChange } from '../../core/serde/index.ts';
import { openStore, type Store } from '../../core/store/index.ts';
import type { Queryable } from '../../core/store/types.ts';
import { eventually, uniqueName } from '../../test/support/services.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { runProcessor } from '../runtime/run-processor.ts';
import { enrichProcessor } from './enrich.ts';
import { ENRICHMENT_ENDPOINTS_HEADER, enrichmentsForEndpoint } from './enrichments.ts';

let platform: EmbeddedPlatform;
let store: Store;
let registry: DeviceRegistry;

before(async () => {
  platform = await openEmbeddedPlatform();
  await platform.log.createTopics([
    { name: TOPICS.deviceMessages, partitions: 2 },
    { name: TOPICS.deviceMessagesEnriched, partitions: 2 },
    { name: TOPICS.deviceLifecycle, partitions: 2 },
    { name: TOPICS.twinChanges, partitions: 2 },
    { name: TOPICS.deadLetter, partitions: 1 },
  ]);
  store = await openStore({ dataDir: platform.dataDir });
  registry = new DeviceRegistry({ store, hubName: 'test-hub', log: platform.log, serde: platform.serde });
});
after(async () => {
  await store.close();
  await platform.close();
});

let sequence = 0;
async function send(deviceId: string, extra: Partial<DeviceMessage> = {}): Promise<string> {
  const messageId = `m-${sequence++}`;
  const message: DeviceMessage = {
    messageId, contentType: 'application/json', contentEncoding: 'utf-8', enqueuedTime: 1_767_225_600_000,
    connectionDeviceId: deviceId, ingestNode: 'test', protocol: 'Mqtt', properties: { app: 'x' }, body: Buffer.from('{"t":1}'), ...extra,
  };
  await platform.log.produce(TOPICS.deviceMessages, [{ key: deviceId, value: await platform.serde.encode(TOPICS.deviceMessages, message) }]);
  return messageId;
}

/** Reads `topic` from the beginning until `count` records keyed by `deviceId` arrived. */
async function recordsOf(topic: string, deviceId: string, count: number): Promise<LogRecord[]> {
  const found: LogRecord[] = [];
  const consumer = platform.log.consumer({ groupId: uniqueName('reader'), topics: [topic], fromBeginning: true });
  await consumer.start(async (batch) => {
    found.push(...batch.records.filter((r) => r.key?.toString() === deviceId));
  });
  try {
    await eventually(`${count} records of ${deviceId} on ${topic}`, () => (found.length >= count ? true : undefined), 30_000);
  } finally {
    await consumer.stop();
  }
  return found.sort((a, b) => a.offset - b.offset);
}

async function enrichedOf(deviceId: string, count: number): Promise<EnrichedDeviceMessage[]> {
  const records = await recordsOf(TOPICS.deviceMessagesEnriched, deviceId, count);
  return Promise.all(records.map((r) => platform.serde.decode<EnrichedDeviceMessage>(r.value!, TOPICS.deviceMessagesEnriched)));
}

async function setTwin(deviceId: string, twin: { tags?: object; desired?: object; reported?: object }): Promise<void> {
  await store.query('UPDATE twins SET tags = $2, desired = $3, reported = $4 WHERE device_id = $1 AND module_id = \'\'', [
    deviceId, twin.tags ?? {}, twin.desired ?? {}, twin.reported ?? {},
  ]);
}

async function droppedCount(reason: string): Promise<number> {
  const metric = metricsRegistry.getSingleMetric('tributary_enrich_dropped_total');
  const values = (await metric?.get())?.values ?? [];
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

/** Every dead letter of the device so far (each test's processor replays the whole shared input topic). */
async function deadLettersOf(deviceId: string): Promise<LogRecord[]> {
  const total = (await platform.log.endOffsets(TOPICS.deadLetter)).reduce((n, p) => n + p.offset, 0);
  return (await platform.readTopic(TOPICS.deadLetter, total)).filter((r) => r.key?.toString() === deviceId);
}

const ENRICHMENTS = [
  { name: 'static', value: 'plant-7' },
  { name: 'building', value: '$twin.tags.building' },
  { name: 'floor', value: '$twin.tags.location.floor' },
  { name: 'location', value: '$twin.tags.location' },
  { name: 'fw', value: '$twin.properties.desired.firmware' },
  { name: 'battery', value: '$twin.properties.reported.battery' },
  { name: 'hub', value: '$iothubname' },
  { name: 'missing', value: '$twin.tags.nope.deeper' },
  { name: 'toStorage', value: 'yes', endpointNames: ['storage'] },
];

test('enrich adds static, twin and hub-name enrichments and the twin, leaves missing paths out, keeps the message', async () => {
  const id = uniqueName('enr');
  await registry.putDevice(id, { deviceId: id });
  await setTwin(id, { tags: { building: '43', location: { floor: 2 } }, desired: { firmware: '1.2.0' }, reported: { battery: 80 } });
  const running = await runProcessor(enrichProcessor({ store, registry, log: platform.log }), {
    log: platform.log, serde: platform.serde, groupId: uniqueName('g'), config: { hubName: 'test-hub', enrichments: ENRICHMENTS },
  });
  try {
    const messageId = await send(id);
    const [record] = await recordsOf(TOPICS.deviceMessagesEnriched, id, 1);
    const enriched = await platform.serde.decode<EnrichedDeviceMessage>(record!.value!, TOPICS.deviceMessagesEnriched);
    assert.equal(enriched.messageId, messageId);
    assert.equal(enriched.body.toString(), '{"t":1}');
    assert.deepEqual(enriched.properties, { app: 'x' });
    assert.deepEqual(enriched.enrichments, {
      static: 'plant-7', building: '43', floor: '2', location: '{"floor":2}', fw: '1.2.0', battery: '80', hub: 'test-hub', toStorage: 'yes',
    });
    const twin = JSON.parse(enriched.twin!) as { tags: Record<string, unknown>; properties: { desired: Record<string, unknown>; reported: Record<string, unknown> } };
    assert.deepEqual(twin.tags, { building: '43', location: { floor: 2 } });
    assert.equal(twin.properties.desired.firmware, '1.2.0');
    assert.equal(twin.properties.reported.battery, 80);
    // The endpoint-scoped enrichment travels with its scope, so the router can keep it off other endpoints.
    assert.deepEqual(JSON.parse(record!.headers[ENRICHMENT_ENDPOINTS_HEADER]!.toString()), { toStorage: ['storage'] });
    assert.equal(enrichmentsForEndpoint(enriched.enrichments, record!.headers, 'events').toStorage, undefined);
    assert.equal(enrichmentsForEndpoint(enriched.enrichments, record!.headers, 'storage').toStorage, 'yes');
  } finally {
    await running.stop();
  }
});

test('traffic of a disabled device and of an unknown device is dropped, counted and dead-lettered with its code', async () => {
  const disabled = uniqueName('off');
  const unknown = uniqueName('ghost');
  await registry.putDevice(disabled, { deviceId: disabled, status: 'disabled' });
  const before = { disabled: await droppedCount('disabled_device'), unknown: await droppedCount('unknown_device') };
  const running = await runProcessor(enrichProcessor({ store }), { log: platform.log, serde: platform.serde, groupId: uniqueName('g'), config: { hubName: 'h' } });
  try {
    await send(disabled);
    await send(unknown);
    for (const [deviceId, code] of [[disabled, 'IotHubUnauthorizedAccess'], [unknown, 'DeviceNotFound']] as const) {
      const [dead] = await recordsOf(TOPICS.deadLetter, deviceId, 1);
      assert.equal(dead!.headers[DLQ_HEADERS.code]!.toString(), code);
      assert.equal(dead!.headers[DLQ_HEADERS.stage]!.toString(), 'processor:enrich');
      const forwarded = await platform.serde.decode<ForwardedRecord>(dead!.value!);
      assert.match(forwarded.errorMessage ?? '', new RegExp(deviceId));
    }
    assert.equal(await droppedCount('disabled_device'), before.disabled + 1);
    assert.equal(await droppedCount('unknown_device'), before.unknown + 1);
  } finally {
    await running.stop();
  }
});

test('registry changes made in this process invalidate the cache at once (onChange): a disabled device is dropped', async () => {
  const id = uniqueName('flip');
  await registry.putDevice(id, { deviceId: id });
  const running = await runProcessor(enrichProcessor({ store, registry }), {
    log: platform.log, serde: platform.serde, groupId: uniqueName('g'), config: { hubName: 'h', cacheTtlMs: 3_600_000 },
  });
  try {
    await send(id);
    await enrichedOf(id, 1);
    await registry.putDevice(id, { deviceId: id, status: 'disabled' }, '*');
    await send(id);
    const [dead] = await recordsOf(TOPICS.deadLetter, id, 1);
    assert.equal(dead!.headers[DLQ_HEADERS.code]!.toString(), 'IotHubUnauthorizedAccess');
  } finally {
    await running.stop();
  }
});

test('a twin tag change becomes visible after an invalidating event on iot.twin.changes, not before', async () => {
  const id = uniqueName('tag');
  await registry.putDevice(id, { deviceId: id });
  await setTwin(id, { tags: { building: 'A' } });
  const running = await runProcessor(enrichProcessor({ store, log: platform.log }), {
    log: platform.log, serde: platform.serde, groupId: uniqueName('g'),
    config: { hubName: 'h', cacheTtlMs: 3_600_000, enrichments: [{ name: 'building', value: '$twin.tags.building' }] },
  });
  try {
    await send(id);
    assert.equal((await enrichedOf(id, 1))[0]!.enrichments?.building, 'A');
    await setTwin(id, { tags: { building: 'B' } });
    await send(id);
    assert.equal((await enrichedOf(id, 2))[1]!.enrichments?.building, 'A', 'without an event the cached twin is used');

    const change: TwinChange = { opType: 'updateTwin', deviceId: id, version: 2, tagsPatch: '{"building":"B"}', operationTime: Date.now() };
    await platform.log.produce(TOPICS.twinChanges, [{ key: id, value: await platform.serde.encode(TOPICS.twinChanges, change) }]);
    let sent = 2;
    await eventually('the new tag in an enriched message', async () => {
      await send(id);
      const all = await enrichedOf(id, ++sent);
      return all.at(-1)!.enrichments?.building === 'B' ? true : undefined;
    }, 30_000);
  } finally {
    await running.stop();
  }
});

test('registry changes made by another process arrive through iot.device.lifecycle and invalidate the cache', async () => {
  const id = uniqueName('remote');
  await registry.putDevice(id, { deviceId: id });
  // No registry handed to the processor: it learns of the change only from the lifecycle event the registry publishes.
  const running = await runProcessor(enrichProcessor({ store, log: platform.log }), {
    log: platform.log, serde: platform.serde, groupId: uniqueName('g'), config: { hubName: 'h', cacheTtlMs: 3_600_000 },
  });
  try {
    await send(id);
    await enrichedOf(id, 1);
    await registry.putDevice(id, { deviceId: id, status: 'disabled' }, '*');
    await eventually('a dead letter once the lifecycle event was read', async () => {
      await send(id);
      return (await deadLettersOf(id)).length > 0 ? true : undefined;
    }, 30_000);
    const [dead] = await deadLettersOf(id);
    assert.equal(dead!.headers[DLQ_HEADERS.code]!.toString(), 'IotHubUnauthorizedAccess');
  } finally {
    await running.stop();
  }
});

test('a store outage replays the batch: nothing is dead-lettered and the message is enriched once the store answers', async () => {
  const id = uniqueName('outage');
  await registry.putDevice(id, { deviceId: id });
  let failures = 0;
  const flaky: Queryable = {
    async query(sql, params) {
      if (failures < 3) {
        failures++;
        throw new TributaryError('StoreUnavailable', 'simulated outage');
      }
      return store.query(sql, params);
    },
    exec: (script) => store.exec(script),
  };
  const running = await runProcessor(enrichProcessor({ store: flaky }), { log: platform.log, serde: platform.serde, groupId: uniqueName('g'), config: { hubName: 'h' } });
  try {
    const messageId = await send(id);
    const [enriched] = await enrichedOf(id, 1);
    assert.equal(enriched!.messageId, messageId);
    assert.equal(failures, 3);
  } finally {
    await running.stop();
  }
  assert.deepEqual(await deadLettersOf(id), [], 'an outage dead-letters nothing');
});

test('an unknown $ expression in an enrichment fails start-up naming it', async () => {
  await assert.rejects(
    runProcessor(enrichProcessor({ store }), { log: platform.log, serde: platform.serde, config: { hubName: 'h', enrichments: [{ name: 'x', value: '$twin.version' }] } }),
    { code: 'ConfigInvalid', message: /enrichments\[0\].*\$twin\.version/ },
  );
});

test('outputTopic sends enriched messages to another topic, with the enriched message schema', async () => {
  const id = uniqueName('out');
  const output = uniqueName('enriched-custom');
  await platform.log.createTopics([{ name: output, partitions: 1 }]);
  await registry.putDevice(id, { deviceId: id });
  const defaultBefore = (await platform.log.endOffsets(TOPICS.deviceMessagesEnriched)).reduce((n, p) => n + p.offset, 0);
  const groupId = uniqueName('g');
  const running = await runProcessor(enrichProcessor({ store }), {
    log: platform.log, serde: platform.serde, groupId, config: { hubName: 'h', outputTopic: output, enrichments: [{ name: 'site', value: 'plant-9' }] },
  });
  try {
    const messageId = await send(id);
    const [record] = await recordsOf(output, id, 1);
    const enriched = await platform.serde.decode<EnrichedDeviceMessage>(record!.value!, output);
    assert.equal(enriched.messageId, messageId);
    assert.deepEqual(enriched.enrichments, { site: 'plant-9' });
    const inputEnd = (await platform.log.endOffsets(TOPICS.deviceMessages)).reduce((n, p) => n + p.offset, 0);
    await eventually('input committed', async () => ((await platform.log.committedOffsets(groupId, TOPICS.deviceMessages)).reduce((n, c) => n + c.offset, 0) === inputEnd ? true : undefined));
  } finally {
    await running.stop();
  }
  const defaultAfter = (await platform.log.endOffsets(TOPICS.deviceMessagesEnriched)).reduce((n, p) => n + p.offset, 0);
  assert.equal(defaultAfter, defaultBefore, 'nothing went to iot.device.messages.enriched');
});

test('a message whose writer schema the byte splice does not fit is decoded and re-encoded, with the same result', async () => {
  const id = uniqueName('slow');
  await registry.putDevice(id, { deviceId: id });
  await setTwin(id, { tags: { building: '7' } });
  // Written with the enriched schema (a writer the plan refuses: it has more fields than a DeviceMessage) and carrying
  // enrichments of its own, which the reader's DeviceMessage schema drops.
  const stale: EnrichedDeviceMessage = {
    messageId: 'slow-1', contentType: 'application/json', contentEncoding: 'utf-8', enqueuedTime: 1_767_225_600_000,
    connectionDeviceId: id, ingestNode: 'test', protocol: 'Mqtt', properties: { app: 'y' }, enrichments: { old: 'x' }, twin: 'stale',
    body: Buffer.from('{"t":2}'),
  };
  await platform.log.produce(TOPICS.deviceMessages, [{ key: id, value: await platform.serde.encode(TOPICS.deviceMessagesEnriched, stale) }]);
  const running = await runProcessor(enrichProcessor({ store }), {
    log: platform.log, serde: platform.serde, groupId: uniqueName('g'), config: { hubName: 'test-hub', enrichments: [{ name: 'building', value: '$twin.tags.building' }] },
  });
  try {
    const [enriched] = await enrichedOf(id, 1);
    assert.equal(enriched!.messageId, 'slow-1');
    assert.deepEqual(enriched!.properties, { app: 'y' });
    assert.deepEqual(enriched!.enrichments, { building: '7' });
    assert.deepEqual(JSON.parse(enriched!.twin!).tags, { building: '7' });
    assert.deepEqual(enriched!.body, Buffer.from('{"t":2}'));
  } finally {
    await running.stop();
  }
});
