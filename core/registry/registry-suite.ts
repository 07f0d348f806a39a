/**
 * The registry test suite, run on every store (device-registry.test.ts on PGlite, device-registry.int.test.ts on
 * PostgreSQL). One store per file; tests use ids unique to the run, so they do not depend on one another's data.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { TributaryError } from '../errors/index.ts';
import type { Store } from '../store/types.ts';
import { DeviceRegistry } from './device-registry.ts';
import { NEVER } from './json-mapping.ts';
import { registryRuntimeTests } from './registry-suite-runtime.ts';
import type { RegistryChange } from './types.ts';

export interface RegistryHarness {
  /** A migrated store of its own. */
  open(): Promise<Store>;
  close(store: Store): Promise<void>;
}

export interface SuiteContext {
  store: Store;
  registry: DeviceRegistry;
  /** A device id no other test uses. */
  id(prefix?: string): string;
}

export const isCode = (code: string, re?: RegExp) => (e: unknown) =>
  e instanceof TributaryError && e.code === code && (re === undefined || re.test(e.message));

const B64_32 = /^[A-Za-z0-9+/]{43}=$/;

export function registryContractSuite(name: string, harness: RegistryHarness): void {
  describe(`DeviceRegistry: ${name}`, () => {
    const run = randomBytes(3).toString('hex');
    let n = 0;
    const ctx = { id: (prefix = 'dev') => `${prefix}-${run}-${++n}` } as SuiteContext;

    before(async () => {
      ctx.store = await harness.open();
      ctx.registry = new DeviceRegistry({ store: ctx.store, hubName: 'suite-hub' });
    });
    after(async () => {
      if (ctx.store !== undefined) await harness.close(ctx.store);
    });

    test('create without authentication generates sas keys and returns IoT Hub device JSON', async () => {
      const id = ctx.id();
      const d = await ctx.registry.putDevice(id, { deviceId: id });
      assert.equal(d.deviceId, id);
      assert.match(d.generationId, /^[1-9][0-9]{17}$/);
      assert.equal(d.etag, 'MA==');
      assert.equal(d.status, 'enabled');
      assert.equal(d.statusReason, null);
      assert.equal(d.statusUpdatedTime, NEVER);
      assert.equal(d.connectionState, 'Disconnected');
      assert.equal(d.connectionStateUpdatedTime, NEVER);
      assert.equal(d.lastActivityTime, NEVER);
      assert.equal(d.cloudToDeviceMessageCount, 0);
      assert.equal(d.authentication.type, 'sas');
      assert.match(d.authentication.symmetricKey.primaryKey ?? '', B64_32);
      assert.match(d.authentication.symmetricKey.secondaryKey ?? '', B64_32);
      assert.notEqual(d.authentication.symmetricKey.primaryKey, d.authentication.symmetricKey.secondaryKey);
      assert.deepEqual(d.authentication.x509Thumbprint, { primaryThumbprint: null, secondaryThumbprint: null });
      assert.deepEqual(d.capabilities, { iotEdge: false });
      assert.deepEqual(d.parentScopes, []);
      assert.deepEqual(await ctx.registry.getDevice(id), d);
    });

    test('the body the SDK sends (empty or null keys, its local defaults) creates a device with generated keys', async () => {
      const id = ctx.id();
      // What `registry.create(new Device({deviceId}))` sends after _normalizeAuthentication.
      const d = await ctx.registry.putDevice(id, {
        deviceId: id, generationId: null, etag: null, connectionState: 'disconnected', status: 'enabled', statusReason: null,
        connectionStateUpdatedTime: null, statusUpdatedTime: null, lastActivityTime: null, cloudToDeviceMessageCount: '0', capabilities: {},
        authentication: { type: 'sas', symmetricKey: { primaryKey: null, secondaryKey: null }, x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null } },
      });
      assert.match(d.authentication.symmetricKey.primaryKey ?? '', B64_32);
      const e = await ctx.registry.putDevice(ctx.id(), { authentication: { type: 'sas', symmetricKey: { primaryKey: '', secondaryKey: '' } } });
      assert.match(e.authentication.symmetricKey.secondaryKey ?? '', B64_32);
    });

    test('the twin row exists from creation: tags {}, desired and reported {} at version 1', async () => {
      const id = ctx.id();
      await ctx.registry.putDevice(id, {});
      const rows = await ctx.store.query('SELECT module_id, version, tags, desired, desired_version, reported, reported_version FROM twins WHERE device_id = $1', [id]);
      assert.deepEqual(rows, [{ module_id: '', version: 1, tags: {}, desired: {}, desired_version: 1, reported: {}, reported_version: 1 }]);
    });

    test('create of an existing id is DeviceAlreadyExists; missing device is DeviceNotFound', async () => {
      const id = ctx.id();
      await ctx.registry.putDevice(id, {});
      await assert.rejects(ctx.registry.putDevice(id, {}), isCode('DeviceAlreadyExists', new RegExp(id)));
      await assert.rejects(ctx.registry.getDevice(ctx.id('missing')), isCode('DeviceNotFound'));
      await assert.rejects(ctx.registry.putDevice(ctx.id('missing'), {}, '*'), isCode('DeviceNotFound'));
      await assert.rejects(ctx.registry.deleteDevice(ctx.id('missing'), '*'), isCode('DeviceNotFound'));
    });

    test('invalid ids and bodies are ArgumentInvalid naming the id or field', async () => {
      await assert.rejects(ctx.registry.putDevice('bad id', {}), isCode('ArgumentInvalid', /device id "bad id" contains a character that is not allowed; a device id must be 1-128/));
      await assert.rejects(ctx.registry.putDevice('x'.repeat(129), {}), isCode('ArgumentInvalid', /129 characters/));
      await assert.rejects(ctx.registry.putDevice(ctx.id(), 'nope'), isCode('ArgumentInvalid', /^body must be a JSON object/));
      await assert.rejects(ctx.registry.putDevice(ctx.id(), { status: 1 }), isCode('ArgumentInvalid', /^status /));
      await assert.rejects(ctx.registry.putDevice(ctx.id(), { authentication: { symmetricKey: { primaryKey: 'short', secondaryKey: 'short' } } }),
        isCode('ArgumentInvalid', /authentication\.symmetricKey\.primaryKey is not valid base64/));
    });

    test('etags: * and the current etag (quoted or not) update and bump it; a stale one is PreconditionFailed', async () => {
      const id = ctx.id();
      const created = await ctx.registry.putDevice(id, {});
      const v1 = await ctx.registry.putDevice(id, { status: 'disabled' }, '*');
      assert.equal(v1.etag, 'MQ==');
      const v2 = await ctx.registry.putDevice(id, { status: 'enabled' }, `"${v1.etag}"`);
      assert.equal(v2.etag, 'Mg==');
      const v3 = await ctx.registry.putDevice(id, { statusReason: 'why' }, v2.etag);
      assert.equal(v3.etag, 'Mw==');
      await assert.rejects(ctx.registry.putDevice(id, { status: 'disabled' }, `"${created.etag}"`), isCode('PreconditionFailed'));
      await assert.rejects(ctx.registry.deleteDevice(id, v1.etag), isCode('PreconditionFailed'));
      assert.equal((await ctx.registry.getDevice(id)).etag, v3.etag, 'failed writes changed nothing');
      assert.equal(v3.generationId, created.generationId);
    });

    test('an update that changes nothing keeps the etag; updating with empty sas keys keeps the keys', async () => {
      const id = ctx.id();
      const created = await ctx.registry.putDevice(id, {});
      const same = await ctx.registry.putDevice(id, { ...created, authentication: { type: 'sas', symmetricKey: { primaryKey: '', secondaryKey: '' } } }, '*');
      assert.equal(same.etag, created.etag);
      assert.deepEqual(same.authentication, created.authentication);
    });

    test('status changes set statusUpdatedTime and fire enabled/disabled; credential changes fire credentialsChanged', async () => {
      const id = ctx.id();
      const seen: RegistryChange[] = [];
      const off = ctx.registry.onChange((c) => {
        if (c.deviceId === id) seen.push(c);
      });
      try {
        await ctx.registry.putDevice(id, {});
        const before = Date.now();
        const disabled = await ctx.registry.putDevice(id, { status: 'disabled', statusReason: 'stolen' }, '*');
        assert.equal(disabled.status, 'disabled');
        assert.equal(disabled.statusReason, 'stolen');
        assert.ok(Date.parse(disabled.statusUpdatedTime) >= before - 1000, disabled.statusUpdatedTime);
        const key = randomBytes(32).toString('base64');
        const rekeyed = await ctx.registry.putDevice(id, { status: 'disabled', statusReason: 'stolen', authentication: { symmetricKey: { primaryKey: key, secondaryKey: key } } }, '*');
        assert.equal(rekeyed.statusUpdatedTime, disabled.statusUpdatedTime, 'status unchanged, time unchanged');
        assert.equal(rekeyed.authentication.symmetricKey.primaryKey, key);
        await ctx.registry.deleteDevice(id);
        assert.deepEqual(seen.map((c) => c.kind), ['created', 'updated', 'disabled', 'updated', 'credentialsChanged', 'deleted']);
      } finally {
        off();
      }
    });

    test('selfSigned stores upper-case thumbprints; certificateAuthority and none have no secrets', async () => {
      const id = ctx.id();
      const tp = 'a1'.repeat(32);
      const d = await ctx.registry.putDevice(id, { authentication: { x509Thumbprint: { primaryThumbprint: tp } } });
      assert.deepEqual(d.authentication, { type: 'selfSigned', symmetricKey: { primaryKey: null, secondaryKey: null }, x509Thumbprint: { primaryThumbprint: tp.toUpperCase(), secondaryThumbprint: null } });
      await assert.rejects(ctx.registry.putDevice(ctx.id(), { authentication: { type: 'selfSigned' } }), isCode('ArgumentInvalid', /primaryThumbprint is required/));
      const ca = await ctx.registry.putDevice(ctx.id(), { authentication: { type: 'certificateAuthority', symmetricKey: { primaryKey: 'x', secondaryKey: 'y' } } });
      assert.deepEqual(ca.authentication.symmetricKey, { primaryKey: null, secondaryKey: null });
      const none = await ctx.registry.putDevice(ctx.id(), { authentication: { type: 'none' } });
      assert.equal(none.authentication.type, 'none');
    });

    test('list returns devices in id order, bounded by top', async () => {
      const ids = [ctx.id('list'), ctx.id('list'), ctx.id('list')];
      for (const id of ids) await ctx.registry.putDevice(id, {});
      const all = await ctx.registry.listDevices();
      const mine = all.map((d) => d.deviceId).filter((d) => ids.includes(d));
      assert.deepEqual(mine, [...ids].sort());
      assert.equal((await ctx.registry.listDevices({ top: 2 })).length, 2);
      await assert.rejects(ctx.registry.listDevices({ top: 0 }), isCode('ArgumentInvalid', /top/));
    });

    test('modules: create, duplicate, get, list, etag update, delete; errors for missing device or module', async () => {
      const id = ctx.id();
      await assert.rejects(ctx.registry.putModule(id, 'm1', {}), isCode('DeviceNotFound'));
      await ctx.registry.putDevice(id, {});
      const m = await ctx.registry.putModule(id, 'm1', { deviceId: id, moduleId: 'm1', managedBy: 'me' });
      assert.equal(m.moduleId, 'm1');
      assert.equal(m.deviceId, id);
      assert.equal(m.managedBy, 'me');
      assert.equal(m.etag, 'MA==');
      assert.match(m.authentication.symmetricKey.primaryKey ?? '', B64_32);
      assert.ok(!('status' in m) && !('capabilities' in m), 'module JSON has no status or capabilities');
      await assert.rejects(ctx.registry.putModule(id, 'm1', {}), isCode('ModuleAlreadyExistsOnDevice'));
      await assert.rejects(ctx.registry.putModule(id, 'm2', {}, '*'), isCode('ModuleNotFound'));
      await assert.rejects(ctx.registry.getModule(id, 'm2'), isCode('ModuleNotFound'));
      await assert.rejects(ctx.registry.getModule(ctx.id('missing'), 'm1'), isCode('DeviceNotFound'));
      await assert.rejects(ctx.registry.listModules(ctx.id('missing')), isCode('DeviceNotFound'));
      await assert.rejects(ctx.registry.putModule(id, '$mine', {}), isCode('ArgumentInvalid', /reserved for IoT Edge/));
      await assert.rejects(ctx.registry.putModule(id, 'bad/module', {}), isCode('ArgumentInvalid', /^module id/));

      const updated = await ctx.registry.putModule(id, 'm1', { managedBy: null }, `"${m.etag}"`);
      assert.equal(updated.etag, 'MQ==');
      assert.equal(updated.managedBy, null);
      assert.deepEqual(updated.authentication, m.authentication, 'keys kept');
      await assert.rejects(ctx.registry.putModule(id, 'm1', { managedBy: 'x' }, m.etag), isCode('PreconditionFailed'));
      await ctx.registry.putModule(id, 'm2', {});
      assert.deepEqual((await ctx.registry.listModules(id)).map((x) => x.moduleId), ['m1', 'm2']);
      assert.deepEqual(await ctx.registry.getModule(id, 'm1'), updated);
      const twins = await ctx.store.query<{ module_id: string }>('SELECT module_id FROM twins WHERE device_id = $1 ORDER BY module_id', [id]);
      assert.deepEqual(twins.map((t) => t.module_id), ['', 'm1', 'm2']);

      await assert.rejects(ctx.registry.deleteModule(id, 'm1', m.etag), isCode('PreconditionFailed'));
      await ctx.registry.deleteModule(id, 'm1', '*');
      await assert.rejects(ctx.registry.getModule(id, 'm1'), isCode('ModuleNotFound'));
      assert.equal((await ctx.store.query('SELECT 1 FROM twins WHERE device_id = $1 AND module_id = $2', [id, 'm1'])).length, 0);
    });

    test('an IoT Edge device gets its scope and the $edgeAgent/$edgeHub system modules', async () => {
      const id = ctx.id('edge');
      const d = await ctx.registry.putDevice(id, { capabilities: { iotEdge: true } });
      assert.equal(d.deviceScope, `ms-azure-iot-edge://${id}-${d.generationId}`);
      assert.deepEqual((await ctx.registry.listModules(id)).map((m) => m.moduleId), ['$edgeAgent', '$edgeHub']);
      await assert.rejects(ctx.registry.deleteModule(id, '$edgeHub'), isCode('ArgumentInvalid', /reserved/));
      const leaf = await ctx.registry.putDevice(ctx.id('leaf'), { deviceScope: d.deviceScope });
      assert.deepEqual(leaf.parentScopes, [d.deviceScope]);
    });

    test('deleting a device removes its modules and twins in one go', async () => {
      const id = ctx.id();
      await ctx.registry.putDevice(id, {});
      await ctx.registry.putModule(id, 'a', {});
      await ctx.registry.putModule(id, 'b', {});
      const seen: RegistryChange[] = [];
      const off = ctx.registry.onChange((c) => seen.push(c));
      await ctx.registry.deleteDevice(id, '"*"');
      off();
      assert.deepEqual(await ctx.store.query('SELECT 1 FROM modules WHERE device_id = $1', [id]), []);
      assert.deepEqual(await ctx.store.query('SELECT 1 FROM twins WHERE device_id = $1', [id]), []);
      await assert.rejects(ctx.registry.getDevice(id), isCode('DeviceNotFound'));
      assert.deepEqual(seen.map((c) => `${c.kind}:${c.moduleId ?? ''}`), ['deleted:', 'deleted:a', 'deleted:b']);
      // Re-created under the same id: a new generation.
      const again = await ctx.registry.putDevice(id, {});
      assert.equal(again.etag, 'MA==');
    });

    test('bulk applies each item on its own and reports the failures', async () => {
      const [a, b, c] = [ctx.id('bulk'), ctx.id('bulk'), ctx.id('bulk')];
      await ctx.registry.putDevice(b, {});
      const result = await ctx.registry.bulk([
        { id: a, importMode: 'create' },
        { id: a, importMode: 'create' },
        { id: b, importMode: 'UpdateIfMatchETag', eTag: '"bm9wZQ=="', status: 'disabled' },
        { id: b, importMode: 'Update', status: 'disabled', authentication: { type: 'sas', symmetricKey: { primaryKey: '', secondaryKey: '' } } },
        { id: c, importMode: 'DeleteIfMatchETag', eTag: 'MA==' },
        { id: 'bad id', importMode: 'create' },
        { id: c, importMode: 'replace' },
        'not an object',
      ]);
      assert.equal(result.isSuccessful, false);
      assert.deepEqual(result.warnings, []);
      assert.deepEqual(result.errors.map((e) => [e.deviceId, e.errorCode, e.operation, e.moduleId]), [
        [a, 'DeviceAlreadyExists', 'create', null],
        [b, 'PreconditionFailed', 'UpdateIfMatchETag', null],
        [c, 'DeviceNotFound', 'DeleteIfMatchETag', null],
        ['bad id', 'ArgumentInvalid', 'create', null],
        [c, 'ArgumentInvalid', 'replace', null],
        ['', 'ArgumentInvalid', '', null],
      ]);
      assert.ok(result.errors.every((e) => e.errorStatus.length > 0));
      assert.equal((await ctx.registry.getDevice(a)).status, 'enabled');
      assert.equal((await ctx.registry.getDevice(b)).status, 'disabled');

      const del = await ctx.registry.bulk([{ id: a, importMode: 'delete' }, { id: b, importMode: 'DeleteIfMatchETag', etag: (await ctx.registry.getDevice(b)).etag }]);
      assert.deepEqual(del, { isSuccessful: true, errors: [], warnings: [] });
      await assert.rejects(ctx.registry.getDevice(b), isCode('DeviceNotFound'));
    });

    test('bulk takes 1 to 100 items', async () => {
      await assert.rejects(ctx.registry.bulk([]), isCode('ArgumentInvalid', /no operations/));
      await assert.rejects(ctx.registry.bulk({} as unknown as unknown[]), isCode('ArgumentInvalid', /JSON array/));
      const many = Array.from({ length: 101 }, (_, i) => ({ id: `${ctx.id('many')}-${i}`, importMode: 'create' }));
      await assert.rejects(ctx.registry.bulk(many), isCode('TooManyDevices', /101 operations/));
      const hundred = many.slice(0, 100);
      const ok = await ctx.registry.bulk(hundred);
      assert.equal(ok.isSuccessful, true);
      const found = await ctx.store.query<{ n: number }>('SELECT count(*) AS n FROM devices WHERE device_id = ANY($1::text[])', [hundred.map((h) => h.id)]);
      assert.equal(found[0]?.n, 100);
    });

    test('statistics count total, enabled and disabled devices', async () => {
      const before = await ctx.registry.statistics();
      await ctx.registry.putDevice(ctx.id('stat'), {});
      await ctx.registry.putDevice(ctx.id('stat'), { status: 'disabled' });
      const gone = ctx.id('stat');
      await ctx.registry.putDevice(gone, {});
      await ctx.registry.deleteDevice(gone);
      const after = await ctx.registry.statistics();
      assert.deepEqual(
        { t: after.totalDeviceCount - before.totalDeviceCount, e: after.enabledDeviceCount - before.enabledDeviceCount, d: after.disabledDeviceCount - before.disabledDeviceCount },
        { t: 2, e: 1, d: 1 },
      );
      assert.equal(after.totalDeviceCount, after.enabledDeviceCount + after.disabledDeviceCount);
    });

    registryRuntimeTests(ctx);
  });
}
