/**
 * The second half of the registry suite (registry-suite.ts): credentials for ingest, connection state and activity
 * batching, shared access policies, lifecycle events on an EmbeddedLog.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_POLICIES } from '../auth/policies.ts';
import { TOPICS } from '../log/topics.ts';
import type { DeviceLifecycleEvent } from '../serde/records.ts';
import type { Queryable, Store } from '../store/types.ts';
import { openEmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { DeviceRegistry } from './device-registry.ts';
import { NEVER } from './json-mapping.ts';
import { isCode, type SuiteContext } from './registry-suite.ts';

/** A store that counts the statements it runs, to show that batched writes are batched. */
function countingStore(store: Store): { store: Store; statements: () => number } {
  let count = 0;
  const counted = <Q extends Queryable>(q: Q): Q => new Proxy(q, {
    get(target, prop, receiver) {
      if (prop === 'query') return (sql: string, params?: readonly unknown[]) => (count++, target.query(sql, params));
      if (prop === 'transaction') return (fn: (tx: Queryable) => Promise<unknown>) => store.transaction((tx) => fn(counted(tx)));
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: counted(store), statements: () => count };
}

export function registryRuntimeTests(ctx: SuiteContext): void {
  test('getCredentials returns what ingest needs; modules follow their device\'s status', async () => {
    const id = ctx.id('cred');
    const d = await ctx.registry.putDevice(id, {});
    await ctx.registry.putModule(id, 'm', { authentication: { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: 'ab'.repeat(20) } } });
    assert.deepEqual(await ctx.registry.getCredentials(id), {
      deviceId: id, generationId: d.generationId, status: 'enabled', authType: 'sas',
      primaryKey: d.authentication.symmetricKey.primaryKey, secondaryKey: d.authentication.symmetricKey.secondaryKey,
      primaryThumbprint: null, secondaryThumbprint: null, iotEdge: false,
    });
    await ctx.registry.putDevice(id, { status: 'disabled' }, '*');
    const m = await ctx.registry.getCredentials(id, 'm');
    assert.equal(m?.moduleId, 'm');
    assert.equal(m?.status, 'disabled');
    assert.equal(m?.authType, 'selfSigned');
    assert.equal(m?.primaryThumbprint, 'AB'.repeat(20));
    assert.equal(await ctx.registry.getCredentials(ctx.id('missing')), undefined);
    assert.equal(await ctx.registry.getCredentials(id, 'nope'), undefined);
  });

  test('getCredentialsMany answers like getCredentials for each identity, in at most two statements', async () => {
    const a = ctx.id('many');
    const b = ctx.id('many');
    await ctx.registry.putDevice(a, {});
    await ctx.registry.putDevice(b, { status: 'disabled' });
    await ctx.registry.putModule(b, 'm', {});
    const ids = [{ deviceId: a }, { deviceId: b }, { deviceId: b, moduleId: 'm' }, { deviceId: ctx.id('missing') }, { deviceId: a, moduleId: 'nope' }];
    const counting = countingStore(ctx.store);
    const found = await new DeviceRegistry({ store: counting.store, hubName: 'suite-hub' }).getCredentialsMany(ids);
    assert.equal(counting.statements(), 2);
    assert.deepEqual([...found.keys()].sort(), [a, b, `${b}/m`].sort());
    for (const id of ids) assert.deepEqual(found.get(id.moduleId ? `${id.deviceId}/${id.moduleId}` : id.deviceId), await ctx.registry.getCredentials(id.deviceId, id.moduleId));
  });

  test('recordConnectionStates and recordActivity write a whole batch in one statement per table', async () => {
    const ids = Array.from({ length: 50 }, () => ctx.id('conn'));
    for (const id of ids) await ctx.registry.putDevice(id, {});
    await ctx.registry.putModule(ids[0]!, 'm', {});
    const etags = new Map((await ctx.registry.listDevices()).map((d) => [d.deviceId, d.etag]));
    const t = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s));
    const counting = countingStore(ctx.store);
    const registry = new DeviceRegistry({ store: counting.store, hubName: 'suite-hub' });

    await registry.recordConnectionStates([
      ...ids.map((deviceId) => ({ deviceId, connected: true, at: t(10) })),
      { deviceId: ids[1]!, connected: false, at: t(20) }, // later in the batch: wins
      { deviceId: ids[2]!, connected: false, at: t(5) }, // older than the connect above: ignored
      { deviceId: ids[0]!, moduleId: 'm', connected: true, at: t(10) },
      { deviceId: ctx.id('unknown'), connected: true, at: t(10) },
    ]);
    assert.equal(counting.statements(), 2, 'one UPDATE for devices, one for modules');
    const d0 = await ctx.registry.getDevice(ids[0]!);
    assert.equal(d0.connectionState, 'Connected');
    assert.equal(d0.connectionStateUpdatedTime, t(10).toISOString());
    assert.equal(d0.etag, etags.get(ids[0]!), 'connection state does not bump the etag');
    assert.equal((await ctx.registry.getDevice(ids[1]!)).connectionState, 'Disconnected');
    assert.equal((await ctx.registry.getDevice(ids[2]!)).connectionState, 'Connected');
    assert.equal((await ctx.registry.getModule(ids[0]!, 'm')).connectionState, 'Connected');

    // A stale update from a slower ingest node does not move the state back in time.
    await registry.recordConnectionStates([{ deviceId: ids[1]!, connected: true, at: t(15) }]);
    assert.equal((await ctx.registry.getDevice(ids[1]!)).connectionState, 'Disconnected');

    const beforeActivity = counting.statements();
    await registry.recordActivity([
      ...ids.map((deviceId) => ({ deviceId, at: t(30) })),
      { deviceId: ids[3]!, at: t(40) },
      { deviceId: ids[3]!, at: t(35) },
    ]);
    assert.equal(counting.statements() - beforeActivity, 1);
    assert.equal((await ctx.registry.getDevice(ids[3]!)).lastActivityTime, t(40).toISOString());
    assert.equal((await ctx.registry.getDevice(ids[4]!)).lastActivityTime, t(30).toISOString());
    await registry.recordActivity([{ deviceId: ids[3]!, at: t(1) }, { deviceId: ids[0]!, moduleId: 'm', at: t(2) }]);
    assert.equal((await ctx.registry.getDevice(ids[3]!)).lastActivityTime, t(40).toISOString(), 'never moves back');
    assert.equal((await ctx.registry.getModule(ids[0]!, 'm')).lastActivityTime, t(2).toISOString());
    assert.equal((await ctx.registry.getModule(ids[0]!, 'm')).connectionStateUpdatedTime, t(10).toISOString());
    assert.notEqual((await ctx.registry.getDevice(ids[5]!)).lastActivityTime, NEVER);
  });

  test('default policies get keys once; a second ensure keeps them; rotation replaces one key', async () => {
    const first = await ctx.registry.ensureDefaultPolicies();
    assert.deepEqual(first.map((p) => p.keyName).sort(), DEFAULT_POLICIES.map((p) => p.keyName).sort());
    for (const p of first) {
      assert.equal(Buffer.from(p.primaryKey, 'base64').length, 32);
      assert.notEqual(p.primaryKey, p.secondaryKey);
      assert.deepEqual(p.rights, DEFAULT_POLICIES.find((d) => d.keyName === p.keyName)?.rights);
    }
    assert.deepEqual(await ctx.registry.ensureDefaultPolicies(), first);
    assert.deepEqual(await ctx.registry.listPolicies(), first);
    const owner = await ctx.registry.getPolicy('iothubowner');
    assert.ok(owner);
    const rotated = await ctx.registry.rotatePolicyKey('iothubowner', 'secondary');
    assert.equal(rotated.primaryKey, owner.primaryKey);
    assert.notEqual(rotated.secondaryKey, owner.secondaryKey);
    assert.deepEqual(await ctx.registry.getPolicy('iothubowner'), rotated);
    assert.equal(await ctx.registry.getPolicy('nobody'), undefined);
    await assert.rejects(ctx.registry.rotatePolicyKey('nobody', 'primary'), isCode('ArgumentInvalid', /no shared access policy is named "nobody"/));
  });

  test('lifecycle events are produced after each change, keyed by device id, without keys', async () => {
    const platform = await openEmbeddedPlatform();
    try {
      await platform.log.createTopics([{ name: TOPICS.deviceLifecycle, partitions: 2 }]);
      const registry = new DeviceRegistry({ store: ctx.store, hubName: 'suite-hub', log: platform.log, serde: platform.serde });
      const id = ctx.id('life');
      const created = await registry.putDevice(id, {});
      await registry.putDevice(id, { status: 'disabled', statusReason: 'test' }, '*');
      await registry.putModule(id, 'm', {});
      await registry.bulk([{ id, importMode: 'Delete' }]);

      const records = await platform.readTopic(TOPICS.deviceLifecycle, 4);
      records.sort((a, b) => a.offset - b.offset);
      assert.ok(records.every((r) => r.key?.toString() === id && r.partition === records[0]!.partition), 'keyed by device id: one partition');
      assert.equal(records[0]!.headers.hubName?.toString(), 'suite-hub');
      assert.equal(records[0]!.headers['iothub-message-source']?.toString(), 'deviceLifecycleEvents');
      const events = await Promise.all(records.map((r) => platform.serde.decode<DeviceLifecycleEvent>(r.value!, TOPICS.deviceLifecycle)));
      assert.deepEqual(events.map((e) => [e.opType, e.moduleId ?? null, e.status ?? null]), [
        ['createDeviceIdentity', null, 'enabled'],
        ['updateDeviceIdentity', null, 'disabled'],
        ['createModuleIdentity', 'm', null],
        ['deleteDeviceIdentity', null, null],
      ]);
      assert.equal(events[0]!.generationId, created.generationId);
      assert.equal(events[0]!.etag, 'MA==');
      assert.equal(events[0]!.authenticationType, 'sas');
      assert.equal(events[1]!.statusReason, 'test');
      assert.equal(events[3]!.identity, null);
      const identity = JSON.parse(events[0]!.identity ?? 'null') as { deviceId: string; authentication: { symmetricKey: unknown } };
      assert.equal(identity.deviceId, id);
      assert.deepEqual(identity.authentication.symmetricKey, { primaryKey: null, secondaryKey: null });
      for (const r of records) assert.ok(!r.value!.includes(Buffer.from(created.authentication.symmetricKey.primaryKey!)), 'no key on the log');
      assert.ok(events.every((e) => typeof e.operationTime === 'number' && e.operationTime > 0));
    } finally {
      await platform.close();
    }
  });
}
