import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TributaryError } from '../../core/errors/index.ts';
import { parseBenchOptions } from './bench-options.ts';
import { backlog, describeStarts } from './fresh-groups.ts';
import { ROLE_GROUPS, childEnv, resolveSplit, splitLagGroups } from './split.ts';

const KAFKA_PG = { TRIBUTARY_KAFKA_BROKERS: '127.0.0.1:9092', TRIBUTARY_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tributary' };

test('the role groups run every role of the pipeline exactly once, ingest with the service API first', () => {
  assert.deepEqual(ROLE_GROUPS.map((g) => g.label), ['hub:ingest', 'hub:processors', 'hub:connectors']);
  assert.deepEqual(ROLE_GROUPS[0]!.roles, ['ingest', 'service'], 'devices and provisioning go to the first process');
  const roles = ROLE_GROUPS.flatMap((g) => g.roles);
  assert.deepEqual([...roles].sort(), ['connectors', 'ingest', 'processors', 'service']);
  assert.equal(new Set(roles).size, roles.length, 'no role runs twice');
});

test('each process gets its roles, and the ClickHouse sink only where the connectors run', () => {
  const base = { ...KAFKA_PG, TRIBUTARY_ROLES: 'ingest', TRIBUTARY_CLICKHOUSE_URL: 'http://elsewhere:8123', PATH: '/bin' };
  const ch = { url: 'http://127.0.0.1:8123', database: 'bench_x' };
  const [ingest, processors, connectors] = ROLE_GROUPS.map((g) => childEnv(base, g, ch));
  assert.equal(ingest!.TRIBUTARY_ROLES, 'ingest,service');
  assert.equal(processors!.TRIBUTARY_ROLES, 'processors');
  assert.equal(connectors!.TRIBUTARY_ROLES, 'connectors');
  for (const env of [ingest!, processors!]) assert.equal(env.TRIBUTARY_CLICKHOUSE_URL, undefined);
  assert.equal(connectors!.TRIBUTARY_CLICKHOUSE_URL, ch.url);
  assert.equal(connectors!.TRIBUTARY_CLICKHOUSE_DATABASE, 'bench_x');
  for (const env of [ingest!, processors!, connectors!]) {
    assert.equal(env.TRIBUTARY_KAFKA_BROKERS, KAFKA_PG.TRIBUTARY_KAFKA_BROKERS, 'the same Kafka for all');
    assert.equal(env.PATH, '/bin');
  }
  assert.equal(childEnv(base, ROLE_GROUPS[2]!, undefined).TRIBUTARY_CLICKHOUSE_URL, undefined, 'no sink when none was asked for');
  assert.equal(base.TRIBUTARY_ROLES, 'ingest', 'the caller\'s environment is not modified');
});

test('the connector\'s group is watched (and reset) only when its connector runs', () => {
  assert.deepEqual(splitLagGroups(true).map((g) => g.group), ['tributary-processor-enrich', 'tributary-processor-router', 'tributary-connector-clickhouse-events']);
  assert.deepEqual(splitLagGroups(false).map((g) => g.group), ['tributary-processor-enrich', 'tributary-processor-router']);
});

test('--split needs Kafka and PostgreSQL and says so', () => {
  const refused = (env: NodeJS.ProcessEnv, missing: RegExp) =>
    assert.throws(() => resolveSplit({ flag: true, scenarioDefault: false, env }), (e: unknown) =>
      e instanceof TributaryError && e.code === 'ArgumentInvalid' && /embedded log and PGlite serve one process/.test(e.message) && missing.test(e.message));
  refused({}, /Set TRIBUTARY_KAFKA_BROKERS and TRIBUTARY_DATABASE_URL/);
  refused({ TRIBUTARY_KAFKA_BROKERS: '127.0.0.1:9092' }, /Set TRIBUTARY_DATABASE_URL \(/);
  refused({ TRIBUTARY_DATABASE_URL: KAFKA_PG.TRIBUTARY_DATABASE_URL }, /Set TRIBUTARY_KAFKA_BROKERS \(/);
  assert.equal(resolveSplit({ flag: true, scenarioDefault: false, env: KAFKA_PG }).split, true);
  assert.throws(() => resolveSplit({ flag: true, scenarioDefault: true, env: { ...KAFKA_PG, TRIBUTARY_ROLES: 'ingest' } }), /unset TRIBUTARY_ROLES \(now "ingest"\)/);
});

test('without a flag: split where the scenario asks for it and the platform allows it', () => {
  assert.deepEqual(resolveSplit({ flag: undefined, scenarioDefault: true, env: KAFKA_PG }).split, true);
  assert.equal(resolveSplit({ flag: undefined, scenarioDefault: false, env: KAFKA_PG }).split, false);
  const embedded = resolveSplit({ flag: undefined, scenarioDefault: true, env: {} });
  assert.equal(embedded.split, false);
  assert.match(embedded.reason, /embedded platform/);
  const roles = resolveSplit({ flag: undefined, scenarioDefault: true, env: { ...KAFKA_PG, TRIBUTARY_ROLES: 'ingest,service' } });
  assert.equal(roles.split, false);
  assert.match(roles.reason, /TRIBUTARY_ROLES is set/);
  assert.equal(resolveSplit({ flag: false, scenarioDefault: true, env: KAFKA_PG }).split, false);
});

test('the command line: --split, --no-split and the scenarios that split by default', () => {
  assert.equal(parseBenchOptions('steady-10k', [], KAFKA_PG).split.split, true);
  assert.equal(parseBenchOptions('soak', [], KAFKA_PG).split.split, true);
  assert.equal(parseBenchOptions('steady-10k', ['--no-split'], KAFKA_PG).split.split, false);
  assert.equal(parseBenchOptions('steady-10k', [], {}).split.split, false, 'embedded: one process, no error');
  assert.equal(parseBenchOptions('smoke', [], KAFKA_PG).split.split, false);
  assert.equal(parseBenchOptions('smoke', ['--split'], KAFKA_PG).split.split, true);
  assert.equal(parseBenchOptions('throughput', ['--split'], KAFKA_PG).split.split, true);
  assert.throws(() => parseBenchOptions('smoke', ['--split'], {}), /--split runs ingest, processors and connectors as separate processes/);
  assert.throws(() => parseBenchOptions('steady-10k', ['--split', '--no-split'], KAFKA_PG), /contradict/);
});

test('backlog: end − committed, a partition never committed counting from its earliest record', () => {
  assert.equal(backlog([]), 0);
  assert.equal(backlog([{ partition: 0, committed: 10, low: 0, high: 10 }]), 0);
  assert.equal(backlog([{ partition: 0, committed: 4, low: 0, high: 10 }, { partition: 1, committed: -1, low: 3, high: 8 }]), 6 + 5);
  // Retention deleted records below the committed offset's reach: what is left counts, not what is gone.
  assert.equal(backlog([{ partition: 0, committed: 2, low: 5, high: 9 }]), 4);
});

test('the report notes say what was skipped and which groups are shared with another hub', () => {
  const notes = describeStarts([
    { group: 'tributary-processor-enrich', topic: 'iot.device.messages', behind: 2_500_000, action: 'reset', members: 0 },
    { group: 'tributary-processor-router', topic: 'iot.device.messages.enriched', behind: 0, action: 'fresh', members: 0 },
    { group: 'tributary-connector-clickhouse-events', topic: 'iot.route.events', behind: 12, action: 'busy', members: 2 },
  ]);
  assert.equal(notes.length, 2);
  assert.match(notes[0]!, /tributary-processor-enrich started at the end of iot\.device\.messages: 2,500,000 records left by earlier runs skipped/);
  assert.match(notes[1]!, /tributary-connector-clickhouse-events has 2 member\(s\) outside this run.*12 records behind/);
});
