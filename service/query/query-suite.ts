/**
 * The twin query language run end to end — parse, compile, execute — against a real store seeded with six device
 * twins and four module twins, shared by query.test.ts (PGlite) and query-pg.int.test.ts (PostgreSQL). Every expected
 * result below was worked out by hand from SEED, following IoT Hub's documented semantics (examples from "Queries for
 * IoT Hub device and module twins" and "IoT Hub query language"), not copied from the implementation's output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TributaryError } from '../../core/errors/index.ts';
import { DeviceRegistry } from '../../core/registry/index.ts';
import type { Store } from '../../core/store/types.ts';
import { compileTwinQuery } from './compile.ts';
import { parseTwinQuery } from './parser.ts';
import { runTwinQuery } from './run-query.ts';

type Json = Record<string, unknown>;
interface SeedTwin { tags?: Json; desired?: Json; reported?: Json; desiredVersion?: number }

export const SEED: Record<string, SeedTwin & { status?: 'disabled'; connected?: boolean; modules?: Record<string, SeedTwin> }> = {
  d01: {
    tags: { location: { region: 'US', plant: 'Redmond43' }, floor: 3 },
    desired: { telemetryConfig: { sendFrequencyInSecs: 300 } },
    desiredVersion: 4,
    reported: { connectivity: 'wifi', telemetryConfig: { sendFrequencyInSecs: 300, status: 'Success' }, temp: 21.5 },
    modules: { m1: { reported: { status: 'scanning' } }, m2: { reported: { status: 'idle' } } },
  },
  d02: {
    status: 'disabled',
    tags: { location: { region: 'US', plant: 'Austin' }, floor: '3' },
    reported: { connectivity: 'wired', telemetryConfig: { sendFrequencyInSecs: 30, status: 'Pending' } },
    modules: { m1: { reported: { status: 'scanning' } } },
  },
  d03: {
    tags: { location: { region: 'EU' }, floor: 1 },
    reported: { connectivity: 'cellular', telemetryConfig: { sendFrequencyInSecs: 60, status: 'Success' }, temp: '20' },
    modules: { mx: { reported: { status: 'scanning' } } },
  },
  d04: { reported: { connectivity: null, telemetryConfig: { status: 'Error' } } },
  d05: { connected: true, tags: { location: { region: 'us' }, list: [1, 2] }, reported: { telemetryConfig: { sendFrequencyInSecs: 120, status: 'Success' }, temp: 30 } },
  d06: { tags: { name: "O'Brien" } },
};

async function writeTwin(store: Store, deviceId: string, moduleId: string, twin: SeedTwin): Promise<void> {
  await store.query(
    'UPDATE twins SET tags = $3::jsonb, desired = $4::jsonb, reported = $5::jsonb, desired_version = $6 WHERE device_id = $1 AND module_id = $2',
    [deviceId, moduleId, JSON.stringify(twin.tags ?? {}), JSON.stringify(twin.desired ?? {}), JSON.stringify(twin.reported ?? {}), twin.desiredVersion ?? 1],
  );
}

/** Devices and modules through the registry (which creates their twins), then twin sections written directly. */
export async function seedTwins(store: Store): Promise<void> {
  const registry = new DeviceRegistry({ store, hubName: 'query-test' });
  for (const [deviceId, seed] of Object.entries(SEED)) {
    await registry.putDevice(deviceId, { deviceId, ...(seed.status ? { status: seed.status } : {}) });
    await writeTwin(store, deviceId, '', seed);
    if (seed.connected) await store.query(`UPDATE devices SET connection_state = 'Connected' WHERE device_id = $1`, [deviceId]);
    for (const [moduleId, twin] of Object.entries(seed.modules ?? {})) {
      await registry.putModule(deviceId, moduleId, { deviceId, moduleId });
      await writeTwin(store, deviceId, moduleId, twin);
    }
  }
}

/** Runs a query to its last page (page size 1000) and returns every item. */
export async function all(store: Store, query: string): Promise<unknown[]> {
  const items: unknown[] = [];
  let continuation: string | undefined;
  do {
    const page = await runTwinQuery(store, query, { pageSize: 1000, ...(continuation ? { continuation } : {}) });
    items.push(...page.items);
    continuation = page.continuation;
  } while (continuation);
  return items;
}

const ids = (items: unknown[]) => items.map((t) => {
  const twin = t as { deviceId: string; moduleId?: string };
  return twin.moduleId === undefined ? twin.deviceId : `${twin.deviceId}/${twin.moduleId}`;
});
const sortByJson = (items: unknown[]) => [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** [query, twins expected (device ids in key order, `device/module` for module twins)]. */
export const SELECTIONS: Array<[string, string[]]> = [
  ['SELECT * FROM devices', ['d01', 'd02', 'd03', 'd04', 'd05', 'd06']],
  ["SELECT * FROM devices WHERE tags.location.region = 'US'", ['d01', 'd02']],
  ["SELECT * FROM devices WHERE tags.location.region = 'US' AND properties.reported.telemetryConfig.sendFrequencyInSecs >= 60", ['d01']],
  ["SELECT * FROM devices WHERE properties.reported.connectivity IN ['wired', 'wifi']", ['d01', 'd02']],
  // null is a primitive that is in neither list; twins without the property are undefined and never match.
  ["SELECT * FROM devices WHERE properties.reported.connectivity NIN ['wired', 'wifi']", ['d03', 'd04']],
  ['SELECT * FROM devices WHERE is_defined(properties.reported.connectivity)', ['d01', 'd02', 'd03', 'd04']],
  // Like types only: the string '3' of d02 neither equals 3 nor differs from it.
  ['SELECT * FROM devices WHERE tags.floor = 3', ['d01']],
  ["SELECT * FROM devices WHERE tags.floor = '3'", ['d02']],
  ['SELECT * FROM devices WHERE tags.floor > 1', ['d01']],
  ['SELECT * FROM devices WHERE NOT (tags.floor = 3)', ['d03']],
  ['SELECT * FROM devices WHERE tags.floor != 3', ['d03']],
  ['SELECT * FROM devices WHERE tags.floor <> 3', ['d03']],
  ['SELECT * FROM devices WHERE properties.reported.temp > 20', ['d01', 'd05']],
  ["SELECT * FROM devices WHERE properties.reported.temp > '1'", ['d03']],
  ["SELECT * FROM devices WHERE status = 'disabled'", ['d02']],
  ["SELECT * FROM devices WHERE status = 'enabled' AND connectionState = 'Disconnected'", ['d01', 'd03', 'd04', 'd06']],
  ["SELECT * FROM devices WHERE connectionState = 'Connected'", ['d05']],
  ["SELECT * FROM devices WHERE STARTSWITH(tags.location.plant, 'Red')", ['d01']],
  ["SELECT * FROM devices WHERE ENDSWITH(deviceId, '5')", ['d05']],
  ["SELECT * FROM devices WHERE CONTAINS(tags.name, 'Bri')", ['d06']],
  ["SELECT * FROM devices WHERE tags.name = 'O''Brien'", ['d06']],
  ["SELECT * FROM devices WHERE tags.name = \"O'Brien\"", ['d06']],
  ["SELECT * FROM devices WHERE tags.name = 'O\\'Brien'", ['d06']],
  ['SELECT * FROM devices WHERE IS_NUMBER(tags.floor)', ['d01', 'd03']],
  ['SELECT * FROM devices WHERE IS_STRING(tags.floor)', ['d02']],
  ['SELECT * FROM devices WHERE IS_NULL(properties.reported.connectivity)', ['d04']],
  ['SELECT * FROM devices WHERE NOT IS_DEFINED(tags.location)', ['d04', 'd06']],
  ['SELECT * FROM devices WHERE IS_OBJECT(tags.location) AND IS_ARRAY(tags.list)', ['d05']],
  ['SELECT * FROM devices WHERE IS_PRIMITIVE(properties.reported.temp)', ['d01', 'd03', 'd05']],
  ['SELECT * FROM devices WHERE IS_BOOL(tags.floor)', []],
  ['SELECT * FROM devices WHERE tags.list[1] = 2', ['d05']],
  ["SELECT * FROM devices WHERE tags['location'].region = 'EU'", ['d03']],
  ["SELECT * FROM devices WHERE LOWER(tags.location.region) = 'us'", ['d01', 'd02', 'd05']],
  ["SELECT * FROM devices WHERE UPPER(tags.location.region) = 'US' AND LENGTH(tags.location.plant) = 6", ['d02']],
  ["SELECT * FROM devices WHERE deviceId IN ['d02', 'd04', 'nope']", ['d02', 'd04']],
  ["SELECT * FROM devices WHERE deviceId NOT IN ['d02', 'd04']", ['d01', 'd03', 'd05', 'd06']],
  ['SELECT * FROM devices WHERE properties.desired.$version = 4', ['d01']],
  ['SELECT * FROM devices WHERE properties.reported.$version = 1', ['d01', 'd02', 'd03', 'd04', 'd05', 'd06']],
  ['SELECT * FROM devices WHERE is_defined(properties.reported.$metadata.$lastUpdated)', ['d01', 'd02', 'd03', 'd04', 'd05', 'd06']],
  ["SELECT * FROM devices WHERE tags.location.region = 'US' OR tags.floor = 1", ['d01', 'd02', 'd03']],
  ["SELECT * FROM devices WHERE (tags.floor = 3 OR tags.floor = 1) AND NOT (status = 'disabled')", ['d01', 'd03']],
  ['SELECT * FROM devices WHERE properties.reported.telemetryConfig.sendFrequencyInSecs >= 60 AND properties.reported.telemetryConfig.sendFrequencyInSecs < 300', ['d03', 'd05']],
  ["SELECT * FROM devices WHERE tags.location.region = 'US' AND properties.reported.telemetryConfig.status = 'Success'", ['d01']],
  ['SELECT * FROM devices WHERE properties.reported.telemetryConfig.sendFrequencyInSecs = properties.desired.telemetryConfig.sendFrequencyInSecs', ['d01']],
  // Ordinal (code point) order: 'us' sorts after 'V', 'EU' and 'US' before it.
  ["SELECT * FROM devices WHERE tags.location.region < 'V'", ['d01', 'd02', 'd03']],
  ["SELECT * FROM devices WHERE tags.location.region = 'US' AND tags.location.region = 3", []],
  ["SELECT * FROM devices WHERE lastActivityTime = '0001-01-01T00:00:00Z' AND deviceId = 'd03'", ['d03']],
  ["SELECT * FROM devices WHERE devices.deviceId = 'd03'", ['d03']],
  ['SELECT * FROM devices WHERE version >= 1 AND tags.floor = 1', ['d03']],
  ["SELECT * FROM devices WHERE authenticationType = 'sas' AND capabilities.iotEdge = false AND tags.floor = 1", ['d03']],
  ["SELECT * FROM devices WHERE moduleId = 'm1'", []],
  ['SELECT TOP 2 * FROM devices', ['d01', 'd02']],
  ['SELECT * FROM devices.modules', ['d01/m1', 'd01/m2', 'd02/m1', 'd03/mx']],
  ["SELECT * FROM devices.modules WHERE properties.reported.status = 'scanning'", ['d01/m1', 'd02/m1', 'd03/mx']],
  ["SELECT * FROM devices.modules WHERE properties.reported.status = 'scanning' AND deviceId IN ['d01', 'd02']", ['d01/m1', 'd02/m1']],
  ["SELECT * FROM devices.modules WHERE moduleId = 'm1'", ['d01/m1', 'd02/m1']],
  ["SELECT * FROM devices.modules WHERE devices.modules.moduleId = 'mx'", ['d03/mx']],
];

/** [query, result objects expected, compared without regard to order when `unordered`]. */
export const PROJECTIONS: Array<[string, Json[], 'unordered'?]> = [
  ['SELECT deviceId, status FROM devices WHERE tags.floor = 1', [{ deviceId: 'd03', status: 'enabled' }]],
  ["SELECT DeviceId, LastActivityTime FROM devices WHERE status = 'enabled' AND connectionState = 'Disconnected'",
    ['d01', 'd03', 'd04', 'd06'].map((deviceId) => ({ deviceId, lastActivityTime: '0001-01-01T00:00:00Z' }))],
  ["SELECT deviceId, tags.location.region AS region FROM devices WHERE deviceId IN ['d04', 'd05']", [{ deviceId: 'd04' }, { deviceId: 'd05', region: 'us' }]],
  ["SELECT deviceId, moduleId, properties.reported.status FROM devices.modules WHERE deviceId = 'd01'",
    [{ deviceId: 'd01', moduleId: 'm1', status: 'scanning' }, { deviceId: 'd01', moduleId: 'm2', status: 'idle' }]],
  ["SELECT deviceId, properties.reported.connectivity FROM devices WHERE deviceId = 'd04'", [{ deviceId: 'd04', connectivity: null }]],
  ["SELECT tags.location FROM devices WHERE deviceId = 'd01'", [{ location: { region: 'US', plant: 'Redmond43' } }]],
  ['SELECT COUNT() AS totalNumberOfDevices FROM devices', [{ totalNumberOfDevices: 6 }]],
  ["SELECT COUNT() AS n FROM devices WHERE tags.location.region = 'US'", [{ n: 2 }]],
  ['SELECT COUNT() AS n FROM devices WHERE tags.nothing = 1', [{ n: 0 }]],
  ['SELECT properties.reported.telemetryConfig.status AS status, COUNT() AS numberOfDevices FROM devices GROUP BY properties.reported.telemetryConfig.status',
    [{ status: 'Success', numberOfDevices: 3 }, { status: 'Pending', numberOfDevices: 1 }, { status: 'Error', numberOfDevices: 1 }, { numberOfDevices: 1 }], 'unordered'],
  ['SELECT tags.location.region AS region, COUNT() AS n FROM devices GROUP BY tags.location.region',
    [{ region: 'US', n: 2 }, { region: 'EU', n: 1 }, { region: 'us', n: 1 }, { n: 2 }], 'unordered'],
  ['SELECT status, COUNT() AS n FROM devices GROUP BY status', [{ status: 'enabled', n: 5 }, { status: 'disabled', n: 1 }], 'unordered'],
  ['SELECT SUM(properties.reported.telemetryConfig.sendFrequencyInSecs) AS total, MAX(properties.reported.telemetryConfig.sendFrequencyInSecs) AS most, ' +
    'MIN(properties.reported.telemetryConfig.sendFrequencyInSecs) AS least, AVG(properties.reported.telemetryConfig.sendFrequencyInSecs) AS mean FROM devices',
  [{ total: 510, most: 300, least: 30, mean: 127.5 }]],
  ["SELECT COUNT() AS n FROM devices.modules WHERE properties.reported.status = 'scanning'", [{ n: 3 }]],
  ['SELECT properties.reported.status AS s, COUNT() AS n FROM devices.modules GROUP BY properties.reported.status', [{ s: 'idle', n: 1 }, { s: 'scanning', n: 3 }], 'unordered'],
];

/** [query, the text at which the error must point]. */
export const REJECTED: Array<[string, string]> = [
  ['', ''],
  ['SELECT * FROM devices WHERE', ''],
  ['SELECT * FROM devices WHERE tags.floor = 3 + 1', '+'],
  ['SELECT * FROM devices WHERE tags.floor = 3 * 2', '* 2'],
  ['SELECT * FROM devices.jobs', 'jobs'],
  ['SELECT * FROM devices ORDER BY deviceId', 'ORDER'],
  ['SELECT * FROM devices WHERE property.reported.connectivity = 1', 'property'],
  ['SELECT * FROM devices WHERE properties.wanted.x = 1', 'properties'],
  ['SELECT * FROM devices WHERE IS_DEFINED(tags.x, tags.y)', 'IS_DEFINED'],
  ['SELECT * FROM devices WHERE NOSUCH(tags.x)', 'NOSUCH'],
  ['SELECT deviceId, COUNT() AS n FROM devices', 'deviceId'],
  ['SELECT * FROM devices GROUP BY status', 'status'],
  ['SELECT deviceId, deviceId FROM devices', 'deviceId FROM'],
  ['SELECT TOP 0 * FROM devices', '0'],
  ["SELECT * FROM devices WHERE tags.x = 'abc", "'abc"],
  ['SELECT * FROM devices WHERE tags.x IN 1', '1'],
  ['SELECT * FROM devices WHERE tags.x == 1', '=='],
  ['SELECT * FROM devices d', 'd'],
  ['SELECT * FROM twins', 'twins'],
];

/** Injection attempts: each is refused, or runs and matches nothing; the tables survive. */
export const INJECTIONS: Array<[string, 'error' | 'nothing']> = [
  ["SELECT * FROM devices WHERE deviceId = '' OR 1=1 --'", 'error'],
  ["SELECT * FROM devices WHERE deviceId = ''' OR 1=1 --'", 'nothing'],
  ["SELECT * FROM devices WHERE tags.x'; DROP TABLE twins; --", 'error'],
  ["SELECT * FROM devices WHERE tags['x''; DROP TABLE twins; --'] = 1", 'nothing'],
  ['SELECT * FROM devices WHERE tags["x\\"); DROP TABLE devices; --"] = \'a\'', 'nothing'],
  ["SELECT * FROM devices WHERE tags.location['region'' = ''US'' OR ''1''=''1'] = 'US'", 'nothing'],
  ['SELECT * FROM devices; DROP TABLE devices', 'error'],
  ["SELECT * FROM devices WHERE deviceId = 'd01' UNION SELECT * FROM shared_access_policies", 'error'],
  ['SELECT * FROM devices WHERE pg_sleep(5)', 'error'],
  ["SELECT deviceId AS \"x; DROP TABLE devices\" FROM devices", 'error'],
  ["SELECT * FROM devices WHERE STARTSWITH(deviceId, 'd0%') OR CONTAINS(deviceId, '_') OR ENDSWITH(deviceId, '%')", 'nothing'],
  ["SELECT * FROM devices WHERE deviceId = 'd01\\u0027 OR \\u00271\\u0027=\\u00271'", 'nothing'],
  ["SELECT * FROM devices WHERE tags.floor IN [7, '1); DROP TABLE twins; --']", 'nothing'],
  ['SELECT * FROM devices WHERE $$x$$ = 1', 'error'],
];

export function twinQuerySuite(name: string, open: () => Promise<{ store: Store; close(): Promise<void> }>): void {
  describe(name, () => {
    let store: Store;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await open());
      await seedTwins(store);
    });
    after(() => close?.());

    for (const [query, expected] of SELECTIONS) {
      test(query, async () => assert.deepEqual(ids(await all(store, query)), expected));
    }

    for (const [query, expected, order] of PROJECTIONS) {
      test(query, async () => {
        const items = await all(store, query);
        if (order === 'unordered') assert.deepEqual(sortByJson(items), sortByJson(expected));
        else assert.deepEqual(items, expected);
      });
    }

    test('SELECT * returns whole twin documents with the seeded sections', async () => {
      const [twin] = (await all(store, "SELECT * FROM devices WHERE deviceId = 'd01'")) as Array<Json & { properties: { desired: Json; reported: Json } }>;
      assert.ok(twin);
      assert.equal(twin.deviceId, 'd01');
      assert.deepEqual(twin.tags, SEED.d01!.tags);
      assert.equal(twin.properties.desired.$version, 4);
      assert.deepEqual(twin.properties.desired.telemetryConfig, SEED.d01!.desired!.telemetryConfig);
      assert.equal(twin.properties.reported.connectivity, 'wifi');
      assert.equal(twin.status, 'enabled');
      const [module] = (await all(store, "SELECT * FROM devices.modules WHERE moduleId = 'm2'")) as Json[];
      assert.equal(module?.moduleId, 'm2');
      assert.equal(module?.deviceId, 'd01');
    });

    for (const [query, at] of REJECTED) {
      test(`rejects: ${query || '(empty)'}`, async () => {
        const position = at === '' ? query.length + 1 : query.lastIndexOf(at) + 1;
        await assert.rejects(runTwinQuery(store, query), (err: unknown) => {
          assert.ok(err instanceof TributaryError, String(err));
          assert.equal(err.code, 'ArgumentInvalid');
          assert.match(err.message, new RegExp(`position ${position}:`), err.message);
          return true;
        });
      });
    }

    test('injection attempts are refused or match nothing, never reach SQL as text; the tables survive', async () => {
      for (const [query, outcome] of INJECTIONS) {
        if (outcome === 'error') {
          await assert.rejects(runTwinQuery(store, query), (err: unknown) => err instanceof TributaryError && err.code === 'ArgumentInvalid', query);
          continue;
        }
        const compiled = compileTwinQuery(query, parseTwinQuery(query), { position: { kind: 'start' }, limit: 10 });
        assert.ok(!/DROP|OR 1|1'='1|%/.test(compiled.sql), `user text reached the SQL of ${query}`);
        const found = ids(await all(store, query));
        assert.deepEqual(found, [], query);
      }
      const [counts] = await store.query<{ devices: number; twins: number; modules: number; policies: number }>(
        'SELECT (SELECT count(*) FROM devices)::int AS devices, (SELECT count(*) FROM twins)::int AS twins, ' +
          '(SELECT count(*) FROM modules)::int AS modules, (SELECT count(*) FROM shared_access_policies)::int AS policies',
      );
      const modules = Object.values(SEED).reduce((n, d) => n + Object.keys(d.modules ?? {}).length, 0);
      assert.deepEqual(counts, { devices: 6, twins: 6 + modules, modules, policies: 0 });
      assert.equal((await all(store, 'SELECT * FROM devices')).length, 6);
    });

    test('paging: three pages of two, a continuation header on all but the last', async () => {
      const pages: string[][] = [];
      const tokens: Array<string | undefined> = [];
      let continuation: string | undefined;
      do {
        const page = await runTwinQuery(store, 'SELECT * FROM devices', { pageSize: 2, ...(continuation ? { continuation } : {}) });
        assert.equal(page.itemType, 'Twin');
        pages.push(ids(page.items));
        tokens.push(page.continuation);
        continuation = page.continuation;
      } while (continuation && pages.length < 10);
      assert.deepEqual(pages, [['d01', 'd02'], ['d03', 'd04'], ['d05', 'd06']]);
      assert.equal(tokens.length, 3);
      assert.ok(tokens[0] && tokens[1], 'pages 1 and 2 carry a token');
      assert.equal(tokens[2], undefined, 'the last page has none');
    });

    test('paging projections, aggregates and TOP', async () => {
      const first = await runTwinQuery(store, 'SELECT deviceId FROM devices', { pageSize: 4 });
      assert.equal(first.itemType, 'Raw');
      assert.deepEqual(first.items, ['d01', 'd02', 'd03', 'd04'].map((deviceId) => ({ deviceId })));
      const second = await runTwinQuery(store, 'SELECT deviceId FROM devices', { pageSize: 4, continuation: first.continuation! });
      assert.deepEqual(second.items, [{ deviceId: 'd05' }, { deviceId: 'd06' }]);
      assert.equal(second.continuation, undefined);

      const grouped = 'SELECT tags.location.region AS region, COUNT() AS n FROM devices GROUP BY tags.location.region';
      const g1 = await runTwinQuery(store, grouped, { pageSize: 3 });
      assert.equal(g1.items.length, 3);
      const g2 = await runTwinQuery(store, grouped, { pageSize: 3, continuation: g1.continuation! });
      assert.equal(g2.items.length, 1);
      assert.equal(g2.continuation, undefined);
      assert.deepEqual(sortByJson([...g1.items, ...g2.items]), sortByJson([{ region: 'US', n: 2 }, { region: 'EU', n: 1 }, { region: 'us', n: 1 }, { n: 2 }]));

      const t1 = await runTwinQuery(store, 'SELECT TOP 3 * FROM devices', { pageSize: 2 });
      assert.deepEqual(ids(t1.items), ['d01', 'd02']);
      const t2 = await runTwinQuery(store, 'SELECT TOP 3 * FROM devices', { pageSize: 2, continuation: t1.continuation! });
      assert.deepEqual(ids(t2.items), ['d03']);
      assert.equal(t2.continuation, undefined, 'TOP reached: no further page');
    });

    test('a continuation token from another query, or not from this hub, is refused', async () => {
      const page = await runTwinQuery(store, 'SELECT * FROM devices', { pageSize: 1 });
      assert.ok(page.continuation);
      await assert.rejects(runTwinQuery(store, "SELECT * FROM devices WHERE status = 'enabled'", { continuation: page.continuation }), /different query/);
      await assert.rejects(runTwinQuery(store, 'SELECT * FROM devices', { continuation: 'not-a-token' }), /not a continuation token/);
      const forged = Buffer.from(JSON.stringify({ v: 1, h: 'x', n: 0, k: [1, 2] })).toString('base64url');
      await assert.rejects(runTwinQuery(store, 'SELECT * FROM devices', { continuation: forged }), /not a continuation token/);
    });
  });
}
