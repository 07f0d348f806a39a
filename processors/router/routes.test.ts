import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PgliteStore, migrate } from '../../core/store/index.ts';
import { DEFAULT_FALLBACK, RouteStore } from './routes.ts';

let store: PgliteStore;
let routes: RouteStore;
before(async () => {
  store = await PgliteStore.open();
  await migrate(store);
  routes = new RouteStore(store);
});
after(() => store.close());

test('routes and endpoints round-trip, and every change bumps the version', async () => {
  const v0 = await routes.version();
  await routes.putEndpoint({ name: 'cold', type: 'storage', settings: { container: 'c' } });
  const route = await routes.putRoute({ name: 'cold.path', source: 'DeviceMessages', condition: "processingPath = 'cold'", endpointNames: ['cold', 'events'] });
  assert.deepEqual(route, { name: 'cold.path', source: 'DeviceMessages', condition: "processingPath = 'cold'", endpointNames: ['cold', 'events'], isEnabled: true });
  assert.deepEqual(await routes.getRoute('cold.path'), route);
  assert.deepEqual(await routes.listEndpoints(), [{ name: 'cold', type: 'storage', settings: { container: 'c' } }]);
  assert.equal(await routes.version(), v0 + 2);

  await routes.putRoute({ ...route, isEnabled: false });
  assert.equal((await routes.getRoute('cold.path'))!.isEnabled, false);
  const snapshot = await routes.snapshot();
  assert.equal(snapshot.version, v0 + 3);
  assert.deepEqual(snapshot.fallback, DEFAULT_FALLBACK);
  assert.deepEqual(snapshot.routes.map((r) => r.name), ['cold.path']);

  await assert.rejects(routes.deleteEndpoint('cold'), { code: 'InvalidOperation', message: /used by route\(s\) cold\.path/ });
  assert.equal(await routes.deleteRoute('cold.path'), true);
  assert.equal(await routes.deleteRoute('cold.path'), false);
  assert.equal(await routes.deleteEndpoint('cold'), true);
  assert.equal(await routes.getRoute('cold.path'), undefined);
  assert.equal(await routes.version(), v0 + 5);
});

test('the fallback route is stored apart from the routes list and cannot be deleted', async () => {
  await routes.putFallback({ isEnabled: false });
  assert.deepEqual(await routes.getFallback(), { condition: 'true', endpointNames: ['events'], isEnabled: false });
  assert.deepEqual(await routes.listRoutes(), []);
  await assert.rejects(routes.deleteRoute('$fallback'), { code: 'InvalidOperation' });
  await routes.putFallback({});
  assert.equal((await routes.getFallback()).isEnabled, true);
});

test('invalid routes and endpoints are refused with ArgumentInvalid saying what is wrong', async () => {
  await assert.rejects(routes.putRoute({ name: 'bad', source: 'DeviceMessages', condition: 'median($body.x) = 2', endpointNames: ['events'] }), { code: 'ArgumentInvalid', message: /function MEDIAN is not supported/ });
  await assert.rejects(routes.putRoute({ name: 'bad', source: 'DeviceMessages', condition: 'length($body.x, 1) = 2', endpointNames: ['events'] }), { code: 'ArgumentInvalid', message: /LENGTH takes 1 argument, found 2/ });
  await assert.rejects(routes.putRoute({ name: 'bad', source: 'DeviceMessages', condition: 'true', endpointNames: ['nowhere'] }), { code: 'ArgumentInvalid', message: /unknown endpoint\(s\) nowhere/ });
  await assert.rejects(routes.putRoute({ name: 'bad name!', source: 'DeviceMessages', endpointNames: ['events'] }), { code: 'ArgumentInvalid', message: /\/name/ });
  await assert.rejects(routes.putRoute({ name: 'bad', source: 'Telemetry', endpointNames: ['events'] }), { code: 'ArgumentInvalid', message: /\/source/ });
  await assert.rejects(routes.putEndpoint({ name: 'events', type: 'kafka' }), { code: 'ArgumentInvalid', message: /built-in/ });
  await assert.rejects(routes.putEndpoint({ name: 'q', type: 'ftp' }), { code: 'ArgumentInvalid', message: /\/type/ });
  assert.deepEqual(await routes.listRoutes(), []);
});
