import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { routeTopic } from '../../core/log/topics.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { eventually } from '../../test/support/services.ts';
import { defineConnector } from './define-connector.ts';
import { connectorGroupId, startEndpointSupervisor, type EndpointSource } from './endpoint-supervisor.ts';
import type { ConnectorType } from './registry.ts';

let platform: EmbeddedPlatform;
before(async () => {
  platform = await openEmbeddedPlatform();
});
after(() => platform.close());

/** Endpoints held in memory, with a version bumped on every change, like RouteStore. */
class FakeRoutes implements EndpointSource {
  endpoints: Array<{ name: string; type: string; settings: Record<string, unknown> }> = [];
  private v = 1;
  failing = false;
  set(endpoints: FakeRoutes['endpoints']) {
    this.endpoints = endpoints;
    this.v++;
  }
  async version() {
    if (this.failing) throw new Error('store down');
    return this.v;
  }
  async listEndpoints() {
    return this.endpoints;
  }
}

/** A `memory` connector type: each instance records what it wrote under its `label` setting. */
function memoryType() {
  const written = new Map<string, string[]>();
  const open = new Set<string>();
  let refuseConnect = false;
  const definition = defineConnector({
    name: 'memory',
    description: 'test',
    configSchema: Type.Object({ label: Type.String({ minLength: 1 }), hub: Type.Optional(Type.String()) }, { additionalProperties: false }),
    create: (config) => ({
      async connect() {
        if (refuseConnect) throw new Error('target unreachable');
        open.add(config.label);
      },
      async close() {
        open.delete(config.label);
      },
      async writeBatch(batch) {
        const list = written.get(config.label) ?? [];
        list.push(...batch.records.map((r) => `${config.hub}:${r.value!.toString()}`));
        written.set(config.label, list);
      },
    }),
  });
  const type: ConnectorType = { definition: definition as unknown as ConnectorType['definition'], hubDefaults: (hub) => ({ hub: hub.hubName }) };
  return { type, written, open, refuse: (v: boolean) => (refuseConnect = v) };
}

test('endpoints are started, restarted on change, stopped on removal, and retried after a failed start', async () => {
  const memory = memoryType();
  const routes = new FakeRoutes();
  const supervisor = await startEndpointSupervisor({
    log: platform.log, serde: platform.serde, routes, hub: { hubName: 'hub-1', dataDir: platform.dataDir },
    pollIntervalMs: 30, retryIntervalMs: 30, maxRetryIntervalMs: 60,
    connectorType: (t) => (t === 'memory' ? memory.type : undefined),
  });
  try {
    routes.set([{ name: 'a', type: 'memory', settings: { label: 'a1' } }, { name: 'bad', type: 'memory', settings: {} }, { name: 'odd', type: 'nope', settings: {} }]);
    await eventually('a running', () => (supervisor.status().find((s) => s.endpoint === 'a')?.state === 'running' ? true : undefined), 10_000);
    const byName = () => new Map(supervisor.status().map((s) => [s.endpoint, s]));
    await eventually('bad and odd failed', () => (byName().get('bad')?.state === 'failed' && byName().get('odd')?.state === 'failed' ? true : undefined), 10_000);
    assert.equal(byName().get('bad')!.error!.code, 'ConfigInvalid');
    assert.match(byName().get('odd')!.error!.message, /no connector is registered/);
    assert.equal(byName().get('a')!.groupId, connectorGroupId('memory', 'a'));

    await platform.log.produce(routeTopic('a'), [{ key: 'd', value: 'x1' }, { key: 'd', value: 'x2' }]);
    await eventually('a wrote', () => (memory.written.get('a1')?.length === 2 ? true : undefined), 10_000);
    assert.deepEqual(memory.written.get('a1'), ['hub-1:x1', 'hub-1:x2'], 'hub defaults filled in');

    // Changed settings: the old connector stops, a new one resumes from the group's committed offsets.
    routes.set([{ name: 'a', type: 'memory', settings: { label: 'a2', hub: 'mine' } }]);
    await eventually('a restarted as a2', () => (memory.open.has('a2') && !memory.open.has('a1') ? true : undefined), 10_000);
    await platform.log.produce(routeTopic('a'), [{ value: 'x3' }]);
    await eventually('a2 wrote', () => (memory.written.get('a2')?.length === 1 ? true : undefined), 10_000);
    assert.deepEqual(memory.written.get('a2'), ['mine:x3'], 'endpoint settings beat hub defaults; nothing rewritten');
    assert.deepEqual(supervisor.status().map((s) => s.endpoint), ['a'], 'removed endpoints are gone');

    // A store outage keeps what runs.
    routes.failing = true;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(supervisor.status()[0]!.state, 'running');
    routes.failing = false;

    // A start that fails (target down) is retried until it works.
    memory.refuse(true);
    routes.set([{ name: 'a', type: 'memory', settings: { label: 'a2' } }, { name: 'b', type: 'memory', settings: { label: 'b1' } }]);
    await eventually('b failed', () => (supervisor.status().find((s) => s.endpoint === 'b')?.state === 'failed' ? true : undefined), 10_000);
    memory.refuse(false);
    await eventually('b running after retry', () => (supervisor.status().find((s) => s.endpoint === 'b')?.state === 'running' ? true : undefined), 10_000);

    routes.set([]);
    await eventually('all stopped', () => (supervisor.status().length === 0 && memory.open.size === 0 ? true : undefined), 10_000);
  } finally {
    await supervisor.stop();
  }
  assert.equal(memory.open.size, 0);
});

test('the built-in events endpoint runs the clickhouse type only when the hub has a ClickHouse URL', async () => {
  const seen: Array<Record<string, unknown>> = [];
  const clickhouse = defineConnector({
    name: 'clickhouse',
    description: 'fake',
    configSchema: Type.Object({ url: Type.String(), database: Type.String() }),
    create: (config) => {
      seen.push(config);
      return { async connect() {}, async close() {}, async writeBatch() {} };
    },
  });
  const type: ConnectorType = { definition: clickhouse as unknown as ConnectorType['definition'], hubDefaults: (hub) => ({ url: hub.clickhouse?.url, database: hub.clickhouse?.database }) };
  const lookup = (t: string) => (t === 'clickhouse' ? type : undefined);

  const without = await startEndpointSupervisor({ log: platform.log, serde: platform.serde, routes: new FakeRoutes(), hub: { hubName: 'h', dataDir: platform.dataDir }, connectorType: lookup });
  assert.deepEqual(without.status(), []);
  await without.stop();

  const withCh = await startEndpointSupervisor({
    log: platform.log, serde: platform.serde, routes: new FakeRoutes(), connectorType: lookup,
    hub: { hubName: 'h', dataDir: platform.dataDir, clickhouse: { url: 'http://ch:8123', database: 'iot' } },
  });
  try {
    await eventually('events running', () => (withCh.status()[0]?.state === 'running' ? true : undefined), 10_000);
    const [events] = withCh.status();
    assert.equal(events!.endpoint, 'events');
    assert.equal(events!.topic, 'iot.route.events');
    assert.equal(events!.groupId, 'tributary-connector-clickhouse-events');
    assert.deepEqual(seen, [{ url: 'http://ch:8123', database: 'iot' }]);
  } finally {
    await withCh.stop();
  }
});
