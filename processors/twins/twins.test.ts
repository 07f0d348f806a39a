import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../../core/errors/index.ts';
import { TOPICS } from '../../core/log/topics.ts';
import type { LogRecord } from '../../core/log/types.ts';
import { componentLogger } from '../../core/logging/logger.ts';
import { DeviceRegistry } from '../../core/registry/index.ts';
import type { CloudCommand, DeviceConnectionEvent, TwinChange, TwinUpdate } from '../../core/serde/index.ts';
import { migrate } from '../../core/store/migrate.ts';
import { PgliteStore } from '../../core/store/pglite-store.ts';
import { TwinStore } from '../../core/twins/index.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import type { OutputRecord, Processor } from '../runtime/define-processor.ts';
import { twinsProcessor } from './twins.ts';

let platform: EmbeddedPlatform;
let store: PgliteStore;
let processor: Processor;
let offset = 0;

before(async () => {
  platform = await openEmbeddedPlatform();
  store = await PgliteStore.open();
  await migrate(store);
  const registry = new DeviceRegistry({ store, hubName: 'h' });
  await registry.putDevice('d1', {});
  await registry.putDevice('d2', {});
  await registry.putModule('d2', 'm1', {});
  processor = await twinsProcessor({ store }).create(
    { inputTopic: TOPICS.twinUpdates, connectionsTopic: TOPICS.deviceConnections, changesTopic: TOPICS.twinChanges, commandsTopic: TOPICS.cloudCommands },
    { logger: componentLogger('twins-test'), serde: platform.serde },
  );
});
after(async () => {
  await store.close();
  await platform.close();
});

async function processUpdate(update: Partial<TwinUpdate> & Pick<TwinUpdate, 'kind' | 'deviceId'>): Promise<OutputRecord[]> {
  const value = await platform.serde.encode(TOPICS.twinUpdates, { origin: 'Device', requestId: `rid-${offset}`, ingestNode: 'node-a', protocol: 'Mqtt', enqueuedTime: Date.now(), ...update });
  const record: LogRecord = { topic: TOPICS.twinUpdates, partition: 0, offset: offset++, key: Buffer.from(update.deviceId), value, headers: {}, timestamp: Date.now() };
  return processor.process(record, { logger: componentLogger('twins-test'), headers: {} });
}

async function decoded(outputs: OutputRecord[]): Promise<{ commands: CloudCommand[]; changes: TwinChange[] }> {
  const commands: CloudCommand[] = [];
  const changes: TwinChange[] = [];
  for (const out of outputs) {
    assert.ok(Buffer.isBuffer(out.value));
    if (out.topic === TOPICS.cloudCommands) commands.push(await platform.serde.decode<CloudCommand>(out.value, out.topic));
    else if (out.topic === TOPICS.twinChanges) changes.push(await platform.serde.decode<TwinChange>(out.value, out.topic));
    else assert.fail(`unexpected output topic ${out.topic}`);
  }
  return { commands, changes };
}

describe('twins processor', () => {
  it('answers a device GET with both sections and their $version, to the ingest node that asked', async () => {
    const { commands, changes } = await decoded(await processUpdate({ kind: 'GetTwin', deviceId: 'd1', requestId: 'get-1' }));
    assert.equal(changes.length, 0);
    assert.equal(commands.length, 1);
    const [answer] = commands;
    assert.equal(answer?.kind, 'TwinResponse');
    assert.equal(answer?.status, 200);
    assert.equal(answer?.requestId, 'get-1');
    assert.equal(answer?.targetNode, 'node-a');
    assert.deepEqual(JSON.parse(answer?.body?.toString('utf8') ?? ''), { desired: { $version: 1 }, reported: { $version: 1 } });
  });

  it('applies a reported patch: 204 with the new $version, a TwinChange, no desired notification', async () => {
    const { commands, changes } = await decoded(await processUpdate({ kind: 'PatchReported', deviceId: 'd1', requestId: 'p-1', patch: '{"fw":"1.2","net":{"rssi":-70}}' }));
    assert.equal(commands.length, 1);
    assert.equal(commands[0]?.kind, 'TwinResponse');
    assert.equal(commands[0]?.status, 204);
    assert.equal(commands[0]?.version, 2);
    assert.equal(commands[0]?.body?.length, 0);
    assert.equal(changes.length, 1);
    assert.equal(changes[0]?.reportedVersion, 2);
    assert.equal(changes[0]?.origin, 'Device');
    assert.equal(changes[0]?.requestId, 'p-1');
    assert.deepEqual(JSON.parse(changes[0]?.reportedPatch ?? ''), { fw: '1.2', net: { rssi: -70 } });
    const twin = await new TwinStore(store).get({ deviceId: 'd1' });
    assert.equal(twin.properties.reported.fw, '1.2');
  });

  it('answers a bad patch with 400 and {errorCode, message}, without changing the twin', async () => {
    for (const patch of ['not json', '{"a.b":1}', '[1,2]', '']) {
      const { commands, changes } = await decoded(await processUpdate({ kind: 'PatchReported', deviceId: 'd1', requestId: 'bad', patch }));
      assert.equal(changes.length, 0);
      assert.equal(commands[0]?.status, 400, patch);
      const body = JSON.parse(commands[0]?.body?.toString('utf8') ?? '') as { errorCode: number; message: string };
      assert.ok(body.errorCode === 400004 || body.errorCode === 400005, `${patch}: ${body.errorCode}`);
      assert.ok(body.message.length > 0);
    }
    const twin = await new TwinStore(store).get({ deviceId: 'd1' });
    assert.equal(twin.properties.reported.$version, 2);
  });

  it('answers a request for an unknown device with 404 and errorCode 404001 (never an empty body)', async () => {
    const { commands } = await decoded(await processUpdate({ kind: 'GetTwin', deviceId: 'ghost' }));
    assert.equal(commands[0]?.status, 404);
    assert.equal((JSON.parse(commands[0]?.body?.toString('utf8') ?? '') as { errorCode: number }).errorCode, 404001);
  });

  it('a desired patch record emits the change and a DesiredPatch for the device with "$version" in the body', async () => {
    const { commands, changes } = await decoded(await processUpdate({ kind: 'PatchDesired', origin: 'Service', deviceId: 'd2', moduleId: 'm1', ingestNode: null, patch: '{"rate":5}' }));
    assert.equal(changes[0]?.desiredVersion, 2);
    assert.equal(changes[0]?.moduleId, 'm1');
    assert.equal(commands.length, 1);
    const [notification] = commands;
    assert.equal(notification?.kind, 'DesiredPatch');
    assert.equal(notification?.moduleId, 'm1');
    assert.equal(notification?.version, 2);
    assert.equal(notification?.targetNode, null);
    assert.deepEqual(JSON.parse(notification?.body?.toString('utf8') ?? ''), { rate: 5, $version: 2 });
  });

  it('tags and replace records from the log apply with If-Match; a stale one throws PreconditionFailed for the dead-letter topic', async () => {
    const before = await new TwinStore(store).get({ deviceId: 'd2' });
    const { changes } = await decoded(await processUpdate({ kind: 'PatchTags', origin: 'Service', deviceId: 'd2', ingestNode: null, ifMatch: before.etag, patch: '{"site":"x"}' }));
    assert.deepEqual(JSON.parse(changes[0]?.tagsPatch ?? ''), { site: 'x' });
    await assert.rejects(
      processUpdate({ kind: 'PatchTags', origin: 'Service', deviceId: 'd2', ingestNode: null, ifMatch: before.etag, patch: '{"site":"y"}' }),
      (e: unknown) => e instanceof TributaryError && e.code === 'PreconditionFailed',
    );
    const replaced = await decoded(await processUpdate({ kind: 'ReplaceTwin', origin: 'Service', deviceId: 'd2', ingestNode: null, patch: '{"tags":{"zone":1},"properties":{"desired":{}}}' }));
    assert.equal(replaced.changes[0]?.opType, 'replaceTwin');
    assert.deepEqual((await new TwinStore(store).get({ deviceId: 'd2' })).tags, { zone: 1 });
  });

  it('copies the modelId a device announced at connect into its twin', async () => {
    const event: DeviceConnectionEvent = {
      eventType: 'deviceConnected', deviceId: 'd1', connectionId: 'c1', ingestNode: 'node-a', protocol: 'Mqtt', modelId: 'dtmi:com:example:Thermostat;1', eventTime: Date.now(),
    };
    const value = await platform.serde.encode(TOPICS.deviceConnections, event);
    const out = await processor.process({ topic: TOPICS.deviceConnections, partition: 0, offset: 0, key: Buffer.from('d1'), value, headers: {}, timestamp: Date.now() }, { logger: componentLogger('t'), headers: {} });
    assert.equal(out.length, 0);
    assert.equal((await new TwinStore(store).get({ deviceId: 'd1' })).modelId, 'dtmi:com:example:Thermostat;1');
  });
});
