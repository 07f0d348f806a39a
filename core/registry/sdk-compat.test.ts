/**
 * The official `azure-iothub` Registry, unmodified, with its REST client swapped for one that calls the registry
 * directly (the constructor's second argument exists for exactly this). It checks that the bodies, If-Match headers
 * and bulk items the SDK really builds are understood here, without HTTP, auth or the service layer.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import iothub from 'azure-iothub';
import { TributaryError } from '../errors/index.ts';
import { openStore } from '../store/open-store.ts';
import type { Store } from '../store/types.ts';
import { DeviceRegistry } from './device-registry.ts';

type Done = (err: Error | null, body?: unknown, response?: { statusCode: number }) => void;

/** Routes the SDK's executeApiCall(method, path, headers, body, done) to the registry, as the service API will. */
function directClient(registry: DeviceRegistry, calls: Array<{ method: string; path: string; ifMatch?: string; body: unknown }>) {
  const route = async (method: string, path: string, headers: Record<string, string> | null, body: unknown): Promise<unknown> => {
    const url = new URL(path, 'https://hub.example');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const ifMatch = headers?.['If-Match'];
    calls.push({ method, path: url.pathname, ...(ifMatch === undefined ? {} : { ifMatch }), body });
    if (parts[0] === 'statistics') return registry.statistics();
    if (parts[0] !== 'devices') throw new Error(`unexpected path ${path}`);
    const [, deviceId, sub, moduleId] = parts;
    if (deviceId === undefined) return method === 'POST' ? registry.bulk(body as unknown[]) : registry.listDevices();
    if (sub === 'modules') {
      if (moduleId === undefined) return registry.listModules(deviceId);
      if (method === 'PUT') return registry.putModule(deviceId, moduleId, body, ifMatch);
      if (method === 'DELETE') return registry.deleteModule(deviceId, moduleId, ifMatch);
      return registry.getModule(deviceId, moduleId);
    }
    if (method === 'PUT') return registry.putDevice(deviceId, body, ifMatch);
    if (method === 'DELETE') return registry.deleteDevice(deviceId, ifMatch);
    return registry.getDevice(deviceId);
  };
  return {
    executeApiCall(method: string, path: string, headers: Record<string, string> | null, body: unknown, ...rest: unknown[]) {
      const done = rest.at(-1) as Done;
      route(method, path, headers, body).then(
        // JSON round trip: what the SDK gets over HTTP.
        (result) => done(null, result === undefined ? '' : JSON.parse(JSON.stringify(result)), { statusCode: 200 }),
        (err: Error) => done(err),
      );
    },
  };
}

describe('azure-iothub Registry against the registry (no HTTP)', () => {
  let dataDir: string;
  let store: Store;
  let sdk: InstanceType<typeof iothub.Registry>;
  const calls: Array<{ method: string; path: string; ifMatch?: string; body: unknown }> = [];
  const run = Date.now().toString(36);

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-registry-sdk-'));
    store = await openStore({ dataDir });
    const registry = new DeviceRegistry({ store, hubName: 'sdk-hub' });
    const config = { host: 'hub.example', sharedAccessSignature: 'SharedAccessSignature sr=hub.example&sig=x&se=1&skn=iothubowner' };
    sdk = new iothub.Registry(config, directClient(registry, calls) as never);
  });
  after(async () => {
    await store?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('create, update (If-Match "*", empty keys kept), get, list, delete', async () => {
    const id = `sdk-${run}`;
    const created = (await sdk.create({ deviceId: id })).responseBody;
    assert.equal(calls.at(-1)?.ifMatch, undefined, 'create sends no If-Match');
    assert.equal(created.deviceId, id);
    assert.equal(Buffer.from(created.authentication!.symmetricKey!.primaryKey!, 'base64').length, 32);

    const updated = (await sdk.update({ deviceId: id, status: 'disabled', statusReason: 'maintenance' })).responseBody;
    assert.equal(calls.at(-1)?.ifMatch, '"*"');
    assert.equal(updated.status, 'disabled');
    assert.notEqual(updated.etag, created.etag);
    assert.equal(updated.authentication?.symmetricKey?.primaryKey, created.authentication?.symmetricKey?.primaryKey);

    // Sending back what get() returned (the SDK's Device with its local defaults merged in) is accepted as-is.
    const fetched = (await sdk.get(id)).responseBody;
    const again = (await sdk.update(fetched)).responseBody;
    assert.equal(again.etag, updated.etag, 'nothing changed');
    assert.ok((await sdk.list()).responseBody.some((d) => d.deviceId === id));
    await sdk.delete(id);
    await assert.rejects(sdk.get(id), (e: unknown) => e instanceof TributaryError && e.code === 'DeviceNotFound');
  });

  test('thumbprints without a type become selfSigned', async () => {
    const d = (await sdk.create({ deviceId: `x509-${run}`, authentication: { x509Thumbprint: { primaryThumbprint: 'a'.repeat(40) } } })).responseBody;
    assert.equal(d.authentication?.x509Thumbprint?.primaryThumbprint, 'A'.repeat(40));
    assert.equal(d.authentication?.symmetricKey?.primaryKey, null);
  });

  test('modules: add, update with the etag the SDK quotes, stale etag refused, remove', async () => {
    const deviceId = `host-${run}`;
    await sdk.create({ deviceId });
    const m = (await sdk.addModule({ deviceId, moduleId: 'sensor' })).responseBody;
    const got = (await sdk.getModule(deviceId, 'sensor')).responseBody;
    const updated = (await sdk.updateModule({ ...got, managedBy: 'ops' }, false)).responseBody;
    assert.equal(calls.at(-1)?.ifMatch, `"${m.etag}"`);
    assert.equal(updated.managedBy, 'ops');
    await assert.rejects(sdk.updateModule({ ...got, managedBy: 'stale' }, false), (e: unknown) => e instanceof TributaryError && e.code === 'PreconditionFailed');
    await sdk.removeModule(deviceId, 'sensor');
    assert.deepEqual((await sdk.getModulesOnDevice(deviceId)).responseBody, []);
  });

  test('bulk add, update (forced and by etag) and remove', async () => {
    const ids = [`b1-${run}`, `b2-${run}`];
    assert.equal((await sdk.addDevices(ids.map((deviceId) => ({ deviceId })))).responseBody.isSuccessful, true);
    assert.deepEqual((calls.at(-1)?.body as Array<{ importMode: string }>).map((i) => i.importMode), ['create', 'create']);
    const again = (await sdk.addDevices([{ deviceId: ids[0]! }])).responseBody;
    assert.equal(again.errors[0]?.errorCode, 'DeviceAlreadyExists');
    assert.equal((await sdk.updateDevices(ids.map((deviceId) => ({ deviceId, status: 'disabled' })), true)).responseBody.isSuccessful, true);
    const current = (await sdk.get(ids[0]!)).responseBody;
    const byEtag = (await sdk.updateDevices([{ ...current, status: 'enabled' }], false)).responseBody;
    assert.equal(byEtag.isSuccessful, true, JSON.stringify(byEtag.errors));
    const stale = (await sdk.updateDevices([{ ...current, status: 'disabled' }], false)).responseBody;
    assert.equal(stale.errors[0]?.errorCode, 'PreconditionFailed');
    assert.equal((await sdk.removeDevices(ids.map((deviceId) => ({ deviceId })), true)).responseBody.isSuccessful, true);
    const stats = (await sdk.getRegistryStatistics()).responseBody;
    assert.equal(stats.totalDeviceCount, stats.enabledDeviceCount + stats.disabledDeviceCount);
  });
});
