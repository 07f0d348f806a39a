/**
 * `POST /devices/query` through fastify's inject() on the whole service API: RegistryRead enforced by the API's
 * permission hook, paging by headers (x-ms-continuation only while more pages exist), x-ms-item-type, IoT Hub's error
 * body for a bad query or header.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { CaCertificateStore, createSasToken } from '../../core/auth/index.ts';
import { DeviceRegistry } from '../../core/registry/index.ts';
import { migrate, PgliteStore } from '../../core/store/index.ts';
import { buildServiceApi } from '../server.ts';
import { seedTwins } from './query-suite.ts';

const HOST = 'query.test';
let store: PgliteStore;
let app: FastifyInstance;
const tokens: Record<string, string> = {};

before(async () => {
  store = await PgliteStore.open();
  await migrate(store);
  const registry = new DeviceRegistry({ store, hubName: 'h' });
  for (const policy of await registry.ensureDefaultPolicies()) {
    tokens[policy.keyName] = createSasToken({ resourceUri: HOST, key: policy.primaryKey, keyName: policy.keyName, expiresAt: Math.floor(Date.now() / 1000) + 3600 });
  }
  await seedTwins(store);
  app = await buildServiceApi({ registry, certificates: new CaCertificateStore(store), twinQueries: store, hostNames: [HOST] });
});
after(async () => {
  await app.close();
  await store.close();
});

async function query(body: unknown, o: { policy?: string; headers?: Record<string, string> } = {}) {
  const response = await app.inject({
    method: 'POST',
    url: '/devices/query?api-version=2021-04-12',
    headers: { host: HOST, authorization: tokens[o.policy ?? 'registryRead'] ?? '', 'content-type': 'application/json; charset=utf-8', ...o.headers },
    payload: JSON.stringify(body),
  });
  return { status: response.statusCode, headers: response.headers, body: response.json() as unknown };
}

describe('POST /devices/query', () => {
  it('pages with x-ms-max-item-count: three pages of two, x-ms-continuation on the first two only', async () => {
    const seen: string[][] = [];
    let continuation: string | undefined;
    for (let i = 0; i < 3; i++) {
      const res = await query({ query: 'SELECT * FROM devices' }, { headers: { 'x-ms-max-item-count': '2', ...(continuation ? { 'x-ms-continuation': continuation } : {}) } });
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /application\/json/);
      assert.equal(res.headers['x-ms-item-type'], 'Twin');
      seen.push((res.body as Array<{ deviceId: string }>).map((t) => t.deviceId));
      continuation = res.headers['x-ms-continuation'] as string | undefined;
      if (i < 2) assert.ok(continuation, `page ${i + 1} has a continuation`);
    }
    assert.equal(continuation, undefined, 'no header at all on the last page');
    assert.deepEqual(seen, [['d01', 'd02'], ['d03', 'd04'], ['d05', 'd06']]);
  });

  it('without x-ms-max-item-count returns up to 100 items; a larger count is served as 1000; an empty continuation starts over', async () => {
    const res = await query({ query: 'SELECT * FROM devices' });
    assert.equal((res.body as unknown[]).length, 6);
    assert.equal(res.headers['x-ms-continuation'], undefined);
    const big = await query({ query: 'SELECT * FROM devices.modules' }, { headers: { 'x-ms-max-item-count': '50000', 'x-ms-continuation': '' } });
    assert.equal(big.status, 200);
    assert.equal((big.body as unknown[]).length, 4);
  });

  it('projections and aggregates come back as raw objects', async () => {
    const res = await query({ query: "SELECT deviceId, tags.location.region AS region FROM devices WHERE deviceId IN ['d03']" });
    assert.equal(res.headers['x-ms-item-type'], 'Raw');
    assert.deepEqual(res.body, [{ deviceId: 'd03', region: 'EU' }]);
    const count = await query({ query: "SELECT COUNT() AS n FROM devices WHERE status = 'enabled'" });
    assert.deepEqual(count.body, [{ n: 5 }]);
  });

  it('needs RegistryRead: iothubowner and registryReadWrite may, service and device may not, no token is 401', async () => {
    assert.equal((await query({ query: 'SELECT * FROM devices' }, { policy: 'iothubowner' })).status, 200);
    assert.equal((await query({ query: 'SELECT * FROM devices' }, { policy: 'registryReadWrite' })).status, 200);
    assert.equal((await query({ query: 'SELECT * FROM devices' }, { policy: 'device' })).status, 401);
    assert.equal((await query({ query: 'SELECT * FROM devices' }, { policy: 'service' })).status, 401);
    assert.equal((await query({ query: 'SELECT * FROM devices' }, { policy: 'none' })).status, 401);
  });

  it('a bad query is 400 with ErrorCode:ArgumentInvalid and the position; so are a bad body and a bad header', async () => {
    const res = await query({ query: 'SELECT * FROM devices WHERE tags.x = 1; DROP TABLE twins' });
    assert.equal(res.status, 400);
    const body = res.body as { Message: string; errorCode: number };
    assert.match(body.Message, /^ErrorCode:ArgumentInvalid;query, position 39:/);
    assert.equal(body.errorCode, 400004);
    assert.equal((await query({ notQuery: 'x' })).status, 400);
    assert.equal((await query({ query: '' })).status, 400);
    const header = await query({ query: 'SELECT * FROM devices' }, { headers: { 'x-ms-max-item-count': 'lots' } });
    assert.equal(header.status, 400);
    assert.match((header.body as { Message: string }).Message, /^ErrorCode:IotHubFormatError;x-ms-max-item-count/);
    const token = await query({ query: 'SELECT * FROM devices' }, { headers: { 'x-ms-continuation': 'garbage!' } });
    assert.equal(token.status, 400);
    assert.equal((await store.query('SELECT count(*)::int AS n FROM twins'))[0]?.n, 10);
  });
});
