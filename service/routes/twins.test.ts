/**
 * The twin routes through fastify's inject(): permissions (read with RegistryRead or ServiceConnect, write with
 * ServiceConnect or RegistryWrite), the twin document in the body with its etag, If-Match → 412 with IoT Hub's error
 * body, and the change/desired notification produced on the log after the write.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { CaCertificateStore, createSasToken } from '../../core/auth/index.ts';
import { TOPICS } from '../../core/log/topics.ts';
import { DeviceRegistry } from '../../core/registry/index.ts';
import type { CloudCommand, TwinChange } from '../../core/serde/index.ts';
import { migrate } from '../../core/store/migrate.ts';
import { PgliteStore } from '../../core/store/pglite-store.ts';
import { TwinService, type TwinDocument } from '../../core/twins/index.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { buildServiceApi } from '../server.ts';

const HOST = 'twins.test';
let platform: EmbeddedPlatform;
let store: PgliteStore;
let registry: DeviceRegistry;
let app: FastifyInstance;
const tokens: Record<string, string> = {};

before(async () => {
  platform = await openEmbeddedPlatform();
  await platform.log.createTopics([{ name: TOPICS.twinChanges, partitions: 1 }, { name: TOPICS.cloudCommands, partitions: 1 }]);
  store = await PgliteStore.open();
  await migrate(store);
  registry = new DeviceRegistry({ store, hubName: 'h' });
  for (const policy of await registry.ensureDefaultPolicies()) {
    tokens[policy.keyName] = createSasToken({ resourceUri: HOST, key: policy.primaryKey, keyName: policy.keyName, expiresAt: Math.floor(Date.now() / 1000) + 3600 });
  }
  await registry.putDevice('dev1', {});
  await registry.putModule('dev1', 'mod1', {});
  const twins = new TwinService({ store, log: platform.log, serde: platform.serde });
  app = await buildServiceApi({ registry, certificates: new CaCertificateStore(store), twins, hostNames: [HOST] });
});
after(async () => {
  await app.close();
  await store.close();
  await platform.close();
});

async function call(method: 'GET' | 'PATCH' | 'PUT', path: string, o: { policy?: string; body?: unknown; ifMatch?: string } = {}) {
  const response = await app.inject({
    method, url: `${path}?api-version=2021-04-12`,
    headers: { host: HOST, authorization: tokens[o.policy ?? 'iothubowner'] ?? '', ...(o.ifMatch ? { 'if-match': o.ifMatch } : {}) },
    ...(o.body === undefined ? {} : { payload: o.body as object }),
  });
  return { status: response.statusCode, headers: response.headers, body: response.json() as TwinDocument & { Message?: string; errorCode?: number } };
}

describe('twin REST routes', () => {
  it('GET returns the twin document with deviceId and etag in the body, as JSON', async () => {
    const res = await call('GET', '/twins/dev1');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.equal(res.body.deviceId, 'dev1');
    assert.equal(typeof res.body.etag, 'string');
    assert.equal(res.headers.etag, `"${res.body.etag}"`);
    const mod = await call('GET', '/twins/dev1/modules/mod1');
    assert.equal(mod.body.moduleId, 'mod1');
  });

  it('reads with RegistryRead or ServiceConnect, writes with ServiceConnect or RegistryWrite, refuses DeviceConnect', async () => {
    assert.equal((await call('GET', '/twins/dev1', { policy: 'registryRead' })).status, 200);
    assert.equal((await call('GET', '/twins/dev1', { policy: 'service' })).status, 200);
    assert.equal((await call('GET', '/twins/dev1', { policy: 'device' })).status, 401);
    assert.equal((await call('PATCH', '/twins/dev1', { policy: 'registryRead', body: { tags: { a: 1 } } })).status, 401);
    assert.equal((await call('PATCH', '/twins/dev1', { policy: 'service', body: { tags: { a: 1 } } })).status, 200);
    assert.equal((await call('PATCH', '/twins/dev1', { policy: 'registryReadWrite', body: { tags: { b: 1 } } })).status, 200);
    const noToken = await app.inject({ method: 'GET', url: '/twins/dev1?api-version=2021-04-12', headers: { host: HOST } });
    assert.equal(noToken.statusCode, 401);
  });

  it('PATCH merges, a stale If-Match is 412 with ErrorCode:PreconditionFailed, the current one succeeds', async () => {
    const read = await call('GET', '/twins/dev1');
    const patched = await call('PATCH', '/twins/dev1', { body: { properties: { desired: { rate: 5 } } }, ifMatch: `"${read.body.etag}"` });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.properties.desired.rate, 5);
    assert.equal(patched.body.properties.desired.$version, read.body.properties.desired.$version + 1);
    assert.notEqual(patched.body.etag, read.body.etag);
    const stale = await call('PATCH', '/twins/dev1', { body: { tags: { x: 1 } }, ifMatch: `"${read.body.etag}"` });
    assert.equal(stale.status, 412);
    assert.match(stale.body.Message ?? '', /^ErrorCode:PreconditionFailed;/);
    assert.equal(stale.body.errorCode, 412001);
    assert.equal((await call('PATCH', '/twins/dev1', { body: { tags: { x: 1 } }, ifMatch: `"${patched.body.etag}"` })).status, 200);
  });

  it('refuses reported properties from the service and invalid keys with 400 ArgumentInvalid', async () => {
    const reported = await call('PATCH', '/twins/dev1', { body: { properties: { reported: { a: 1 } } } });
    assert.equal(reported.status, 400);
    assert.match(reported.body.Message ?? '', /^ErrorCode:ArgumentInvalid;/);
    assert.equal((await call('PATCH', '/twins/dev1', { body: { tags: { 'a.b': 1 } } })).status, 400);
    assert.equal((await call('GET', '/twins/nobody')).status, 404);
    assert.equal((await call('GET', '/twins/dev1/modules/nomod')).status, 404);
  });

  it('PUT replaces tags and desired; the change and a desired notification with $version are on the log', async () => {
    await call('PATCH', '/twins/dev1/modules/mod1', { body: { tags: { old: true }, properties: { desired: { keep: 1, drop: 1 } } } });
    const replaced = await call('PUT', '/twins/dev1/modules/mod1', { body: { tags: { fresh: true }, properties: { desired: { keep: 1 } } }, ifMatch: '*' });
    assert.equal(replaced.status, 200);
    assert.deepEqual(replaced.body.tags, { fresh: true });
    assert.equal('drop' in replaced.body.properties.desired, false);
    const version = replaced.body.properties.desired.$version;

    const changes = await platform.readTopic(TOPICS.twinChanges, 1);
    const decodedChanges = await Promise.all(changes.map((r) => platform.serde.decode<TwinChange>(r.value!, TOPICS.twinChanges)));
    const last = decodedChanges.find((c) => c.opType === 'replaceTwin' && c.moduleId === 'mod1');
    assert.ok(last, 'the replaceTwin change is on iot.twin.changes');
    assert.equal(last.desiredVersion, version);
    const commands = await platform.readTopic(TOPICS.cloudCommands, 1);
    const decodedCommands = await Promise.all(commands.map((r) => platform.serde.decode<CloudCommand>(r.value!, TOPICS.cloudCommands)));
    const notification = decodedCommands.find((c) => c.kind === 'DesiredPatch' && c.moduleId === 'mod1' && c.version === version);
    assert.ok(notification, 'the desired notification is on iot.cloud.commands');
    assert.deepEqual(JSON.parse(notification.body!.toString('utf8')), { drop: null, $version: version });
  });
});
