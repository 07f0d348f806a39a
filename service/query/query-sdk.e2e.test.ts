/**
 * Twin queries through the official service SDK (`azure-iothub` 1.16.6, port 443, CA trusted through
 * NODE_EXTRA_CA_CERTS): `registry.createQuery(sql, pageSize)` pages with `nextAsTwin` until `hasMoreResults` is false,
 * which only works if the hub omits `x-ms-continuation` on the last page (iothub-wire.md §5.4).
 * Run under the port-443 lock: flock /tmp/tributary-443.lock env TRIBUTARY_TEST_INFRA=external node --import tsx test/run.ts query-sdk
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import iothub from 'azure-iothub';
import { startTestHub, type TestHub } from '../../test/support/test-hub.ts';

const { Registry } = iothub;

describe('twin queries through azure-iothub', () => {
  let testHub: TestHub;
  let registry: InstanceType<typeof Registry>;
  const deviceIds = ['q-a', 'q-b', 'q-c', 'q-d', 'q-e'];
  before(async () => {
    testHub = await startTestHub();
    registry = Registry.fromConnectionString(testHub.hub.serviceConnectionString);
    for (const deviceId of deviceIds) await registry.create({ deviceId });
    await registry.addModule({ deviceId: 'q-b', moduleId: 'sensor' });
    await testHub.hub.platform.store.query(`UPDATE twins SET tags = '{"site":"north"}'::jsonb WHERE device_id IN ('q-b', 'q-d') AND module_id = ''`);
  });
  after(() => testHub?.close());

  test("createQuery('SELECT * FROM devices', 2) pages through every twin with nextAsTwin", async () => {
    const query = registry.createQuery('SELECT * FROM devices', 2);
    const pages: string[][] = [];
    while (query.hasMoreResults && pages.length < 10) {
      const { result } = await query.nextAsTwin();
      pages.push(result.map((twin) => twin.deviceId));
    }
    assert.deepEqual(pages, [['q-a', 'q-b'], ['q-c', 'q-d'], ['q-e']]);
  });

  test('a filtered query, a module query and a projection through next()', async () => {
    const north = await registry.createQuery("SELECT * FROM devices WHERE tags.site = 'north'").nextAsTwin();
    assert.deepEqual(north.result.map((twin) => twin.deviceId), ['q-b', 'q-d']);
    assert.deepEqual(north.result[0]?.tags, { site: 'north' });

    const modules = await registry.createQuery('SELECT * FROM devices.modules').nextAsTwin();
    assert.deepEqual(modules.result.map((twin) => `${twin.deviceId}/${twin.moduleId}`), ['q-b/sensor']);

    const counted = await registry.createQuery('SELECT tags.site AS site, COUNT() AS n FROM devices GROUP BY tags.site').next();
    const byJson = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).sort();
    assert.deepEqual(byJson(counted.result as unknown[]), byJson([{ site: 'north', n: 2 }, { n: 3 }]));
  });

  test('a bad query surfaces as the SDK ArgumentError', async () => {
    await assert.rejects(registry.createQuery('SELECT * FROM devices WHERE').next(), (err: Error) => err.constructor.name === 'ArgumentError');
  });
});
