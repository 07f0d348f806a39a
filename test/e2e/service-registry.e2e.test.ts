/**
 * The identity registry through the official service SDK (`azure-iothub` 1.16.6), unmodified, against a whole hub:
 * connection string as `tributary start` prints it, CA trusted through NODE_EXTRA_CA_CERTS, port 443. Run once on
 * PGlite (embedded mode) and once on PostgreSQL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import iothub from 'azure-iothub';
import { startTestHub, type StoreMode, type TestHub } from '../support/test-hub.ts';
import { uniqueName } from '../support/services.ts';

const { Registry } = iothub;
type SdkError = Error & { responseBody?: string; response?: { statusCode?: number } };

for (const store of ['pglite', 'postgres'] satisfies StoreMode[]) {
  describe(`registry through azure-iothub on ${store}`, () => {
    let testHub: TestHub;
    let registry: InstanceType<typeof Registry>;
    before(async () => {
      testHub = await startTestHub({ store });
      registry = Registry.fromConnectionString(testHub.hub.serviceConnectionString);
    });
    after(() => testHub?.close());

    test('create generates keys; get, update (status), list, statistics, delete', async () => {
      const id = uniqueName('dev');
      const created = (await registry.create({ deviceId: id })).responseBody;
      assert.equal(created.deviceId, id);
      const keys = created.authentication?.symmetricKey;
      assert.ok(keys?.primaryKey && keys.secondaryKey, 'keys generated when the SDK sends empty ones');
      assert.equal(Buffer.from(keys.primaryKey, 'base64').length, 32);
      assert.equal(created.status, 'enabled');

      const fetched = (await registry.get(id)).responseBody;
      assert.deepEqual(fetched.authentication, created.authentication);
      assert.equal(fetched.etag, created.etag);

      const updated = (await registry.update({ deviceId: id, status: 'disabled', statusReason: 'maintenance' })).responseBody;
      assert.equal(updated.status, 'disabled');
      assert.notEqual(updated.etag, created.etag, 'an update changes the etag');
      assert.equal(updated.authentication?.symmetricKey?.primaryKey, keys.primaryKey, 'keys kept when the update does not name them');

      const listed = (await registry.list()).responseBody;
      assert.ok(listed.some((d) => d.deviceId === id));
      const stats = (await registry.getRegistryStatistics()).responseBody;
      assert.ok(stats.totalDeviceCount >= 1 && stats.disabledDeviceCount >= 1);

      await registry.delete(id);
      await assert.rejects(registry.get(id), (err: Error) => err.constructor.name === 'DeviceNotFoundError');
    });

    test('creating an existing device fails with DeviceAlreadyExistsError and changes nothing', async () => {
      const id = uniqueName('dup');
      const first = (await registry.create({ deviceId: id })).responseBody;
      await assert.rejects(registry.create({ deviceId: id }), (err: Error) => err.constructor.name === 'DeviceAlreadyExistsError');
      assert.equal((await registry.get(id)).responseBody.etag, first.etag);
    });

    test('self-signed X.509 device keeps its thumbprints', async () => {
      const id = uniqueName('x509');
      const thumb = 'A'.repeat(40);
      const created = (await registry.create({ deviceId: id, authentication: { x509Thumbprint: { primaryThumbprint: thumb, secondaryThumbprint: 'B'.repeat(40) } } })).responseBody;
      assert.equal((created.authentication as { type?: string } | undefined)?.type, 'selfSigned');
      assert.equal(created.authentication?.x509Thumbprint?.primaryThumbprint, thumb);
    });

    test('modules: add, get, list, update with a matching etag, refuse a stale etag, remove', async () => {
      const deviceId = uniqueName('modhost');
      await registry.create({ deviceId });
      const module = (await registry.addModule({ deviceId, moduleId: 'sensor' })).responseBody;
      assert.equal(module.moduleId, 'sensor');
      assert.ok(module.authentication?.symmetricKey?.primaryKey);

      const got = (await registry.getModule(deviceId, 'sensor')).responseBody;
      assert.equal(got.etag, module.etag);
      assert.deepEqual((await registry.getModulesOnDevice(deviceId)).responseBody.map((m: { moduleId: string }) => m.moduleId), ['sensor']);

      const updated = (await registry.updateModule({ ...got, managedBy: 'ops' }, false)).responseBody;
      assert.equal(updated.managedBy, 'ops');
      await assert.rejects(registry.updateModule({ ...got, managedBy: 'stale' }, false), (err: Error) => err.constructor.name === 'InvalidEtagError');
      assert.equal((await registry.getModule(deviceId, 'sensor')).responseBody.managedBy, 'ops', 'the stale update changed nothing');

      await registry.removeModule(deviceId, 'sensor');
      assert.deepEqual((await registry.getModulesOnDevice(deviceId)).responseBody, []);
    });

    test('bulk add, update and remove through POST /devices', async () => {
      const ids = [uniqueName('bulk'), uniqueName('bulk'), uniqueName('bulk')];
      const added = (await registry.addDevices(ids.map((deviceId) => ({ deviceId })))).responseBody;
      assert.equal(added.isSuccessful, true, JSON.stringify(added.errors));
      for (const id of ids) assert.equal((await registry.get(id)).responseBody.deviceId, id);

      const again = (await registry.addDevices([{ deviceId: ids[0]! }])).responseBody;
      assert.equal(again.isSuccessful, false);
      assert.equal(again.errors[0]?.deviceId, ids[0]);

      const updated = (await registry.updateDevices(ids.map((deviceId) => ({ deviceId, status: 'disabled' })), true)).responseBody;
      assert.equal(updated.isSuccessful, true, JSON.stringify(updated.errors));
      assert.equal((await registry.get(ids[1]!)).responseBody.status, 'disabled');

      const removed = (await registry.removeDevices(ids.map((deviceId) => ({ deviceId })), true)).responseBody;
      assert.equal(removed.isSuccessful, true, JSON.stringify(removed.errors));
      await assert.rejects(registry.get(ids[2]!), (err: Error) => err.constructor.name === 'DeviceNotFoundError');
    });

    test('a device update with a stale etag is refused with 412 and changes nothing', async () => {
      const id = uniqueName('etag');
      const created = (await registry.create({ deviceId: id })).responseBody;
      await registry.update({ deviceId: id, statusReason: 'v2' });
      const response = await rawRequest(testHub, 'PUT', `/devices/${id}`, { deviceId: id, statusReason: 'v3' }, { 'if-match': `"${created.etag}"` });
      assert.equal(response.status, 412);
      assert.match((await response.json() as { Message: string }).Message, /^ErrorCode:PreconditionFailed;/);
      assert.equal((await registry.get(id)).responseBody.statusReason, 'v2');
    });
  });
}

/** A request signed like the SDK signs it (its own token generator), for the cases the SDK cannot express. */
async function rawRequest(testHub: TestHub, method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const { SharedAccessSignature } = iothub;
  const cs = Object.fromEntries(testHub.hub.serviceConnectionString.split(';').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
  const token = SharedAccessSignature.create(cs.HostName!, cs.SharedAccessKeyName!, cs.SharedAccessKey!, Math.ceil(Date.now() / 1000) + 600).toString();
  return fetch(`https://localhost:${testHub.hub.httpsPort}${path}?api-version=2021-04-12`, {
    method,
    headers: { authorization: token, 'content-type': 'application/json; charset=utf-8', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export type { SdkError };
