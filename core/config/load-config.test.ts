import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { TributaryError } from '../errors/index.ts';
import { loadConfig, pointerToPath } from './load-config.ts';
import { SETTINGS, closest, envVarName, parseEnvValue } from './settings.ts';

const dir = mkdtempSync(join(tmpdir(), 'tributary-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeJson(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** The problems of the ConfigInvalid that loading throws. */
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TributaryError, String(err));
    assert.equal(err.code, 'ConfigInvalid');
    const problems = err.details?.problems as string[];
    for (const p of problems) assert.ok(err.message.includes(p), 'the message lists every problem');
    return problems;
  }
  assert.fail('expected ConfigInvalid');
}

describe('loadConfig', () => {
  test('with nothing set, every setting has its documented default or is absent', () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.dataDir, './.tributary');
    assert.equal(config.hubName, 'tributary');
    assert.deepEqual(config.hostNames, ['localhost', '127.0.0.1']);
    assert.deepEqual(config.roles, ['ingest', 'service', 'processors', 'connectors', 'provisioning']);
    assert.equal(config.log.level, 'info');
    assert.equal(config.kafka.brokers, undefined);
    assert.equal(config.schemaRegistry.url, undefined);
    assert.equal(config.database.url, undefined);
    assert.equal(config.clickhouse.database, 'iot');
    assert.deepEqual(config.ports, { https: 443, mqtts: 8883 });
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.ports) && Object.isFrozen(config.roles));
  });

  test('environment variables are derived from paths and parsed by type', () => {
    const config = loadConfig({
      env: {
        TRIBUTARY_KAFKA_BROKERS: ' k1:9092, [::1]:9093 ,,',
        TRIBUTARY_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7',
        TRIBUTARY_DATA_DIR: '/var/lib/tributary',
        TRIBUTARY_PORTS_MQTTS: '18883',
        TRIBUTARY_ROLES: 'ingest,service',
        TRIBUTARY_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tributary',
        PATH: '/usr/bin',
      },
    });
    assert.deepEqual(config.kafka.brokers, ['k1:9092', '[::1]:9093']);
    assert.equal(config.schemaRegistry.url, 'http://127.0.0.1:8081/apis/ccompat/v7');
    assert.equal(config.dataDir, '/var/lib/tributary');
    assert.equal(config.ports.mqtts, 18883);
    assert.deepEqual(config.roles, ['ingest', 'service']);
    assert.equal(config.database.url, 'postgres://postgres@127.0.0.1:5432/tributary');
  });

  test('precedence: defaults < file < environment; an empty variable counts as unset', () => {
    const file = writeJson('precedence.json', { ports: { https: 8443, mqtts: 9883 }, hubName: 'from-file', kafka: { clientId: 'file' } });
    const config = loadConfig({ env: { TRIBUTARY_CONFIG: file, TRIBUTARY_PORTS_HTTPS: '9443', TRIBUTARY_HUB_NAME: '' } });
    assert.equal(config.ports.https, 9443);
    assert.equal(config.ports.mqtts, 9883);
    assert.equal(config.hubName, 'from-file');
    assert.equal(config.kafka.clientId, 'file');
    assert.equal(config.clickhouse.database, 'iot');
  });

  test('an explicit file beats TRIBUTARY_CONFIG; a parsed document works too', () => {
    const a = writeJson('a.json', { hubName: 'hub-a' });
    const b = writeJson('b.json', { hubName: 'hub-b' });
    assert.equal(loadConfig({ env: { TRIBUTARY_CONFIG: a }, file: b }).hubName, 'hub-b');
    assert.equal(loadConfig({ env: {}, file: { hubName: 'hub-c' } }).hubName, 'hub-c');
  });

  test('a bad value is reported with its path, what was expected, what was given and where it came from', () => {
    const problems = problemsOf(() => loadConfig({ env: { TRIBUTARY_KAFKA_BROKERS: 'k1:9092,x' } }));
    assert.deepEqual(problems, ['kafka.brokers[1]: expected host:port, got "x" (from TRIBUTARY_KAFKA_BROKERS)']);
    const file = writeJson('bad-port.json', { ports: { https: 70000 } });
    assert.deepEqual(problemsOf(() => loadConfig({ env: {}, file })), [
      `ports.https: expected a port number 0–65535, got 70000 (from ${file})`,
    ]);
  });

  test('every problem is reported at once', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: { TRIBUTARY_PORTS_HTTPS: 'https', TRIBUTARY_ROLES: 'ingest,router,ingest', TRIBUTARY_KAFKA_BROKER: 'k:9092' },
        file: { log: { level: 'loud' }, hubname: 'x', clickhouse: { url: 'ftp://ch' }, hostNames: [] },
      }),
    );
    assert.equal(problems.length, 8, problems.join('\n'));
    for (const fragment of ['ports.https:', 'roles[1]: expected one of "ingest"', 'roles: expected no duplicates', 'log.level:',
      'hubname: unknown setting', 'clickhouse.url: expected http or https URL', 'hostNames: expected at least 1 item',
      'TRIBUTARY_KAFKA_BROKER: unknown environment variable; did you mean TRIBUTARY_KAFKA_BROKERS?']) {
      assert.ok(problems.some((p) => p.includes(fragment)), `${fragment} missing from:\n${problems.join('\n')}`);
    }
  });

  test('unknown file keys suggest the closest known setting, at any depth', () => {
    const problems = problemsOf(() => loadConfig({ env: {}, file: { kafka: { brokrs: ['k:1'] }, schemaregistry: {}, zzz: 1 } }));
    assert.ok(problems.includes('kafka.brokrs: unknown setting in the config document; did you mean "kafka.brokers"?'), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('schemaregistry: unknown setting') && p.endsWith('did you mean "schemaRegistry"?')));
    assert.ok(problems.some((p) => p.startsWith('zzz: unknown setting') && p.includes('known here: dataDir, hubName')));
  });

  test('TRIBUTARY_INFRA_*, TRIBUTARY_TEST* and TRIBUTARY_CONFIG are not settings and not errors', () => {
    const config = loadConfig({ env: { TRIBUTARY_INFRA_KAFKA_HOME: '/opt', TRIBUTARY_TEST: '1', TRIBUTARY_TEST_INFRA: 'external', TRIBUTARY_CONFIG: '' } });
    assert.equal(config.hubName, 'tributary');
    assert.equal(problemsOf(() => loadConfig({ env: { TRIBUTARY_INFRA: 'x' } })).length, 1);
  });

  test('an unreadable or malformed file is ConfigInvalid naming the file', () => {
    const missing = join(dir, 'missing.json');
    assert.match(problemsOf(() => loadConfig({ env: { TRIBUTARY_CONFIG: missing } }))[0] ?? '', /missing\.json: cannot read it \(ENOENT\)/);
    const broken = writeJson('broken.json', '{ "hubName": ');
    assert.match(problemsOf(() => loadConfig({ env: {}, file: broken }))[0] ?? '', /broken\.json: not valid JSON/);
    const list = writeJson('list.json', '[]');
    assert.match(problemsOf(() => loadConfig({ env: {}, file: list }))[0] ?? '', /expected a JSON object at the top level, got \[\]/);
  });

  test('a rejected URL never echoes its password', () => {
    const [problem] = problemsOf(() => loadConfig({ env: { TRIBUTARY_DATABASE_URL: 'mysql://admin:hunter2@db/x' } }));
    assert.ok(problem?.startsWith('database.url: expected postgres or postgresql URL'));
    assert.doesNotMatch(problem ?? '', /hunter2/);
  });
});

describe('settings', () => {
  test('env names follow the path', () => {
    assert.equal(envVarName('kafka.brokers'), 'TRIBUTARY_KAFKA_BROKERS');
    assert.equal(envVarName('schemaRegistry.url'), 'TRIBUTARY_SCHEMA_REGISTRY_URL');
    assert.equal(envVarName('dataDir'), 'TRIBUTARY_DATA_DIR');
    assert.equal(envVarName('ops.port'), 'TRIBUTARY_OPS_PORT');
  });

  test('every setting has a description and a distinct env var', () => {
    assert.ok(SETTINGS.length >= 15);
    for (const s of SETTINGS) {
      assert.ok(((s.schema as { description?: string }).description ?? '').length > 10, `${s.path} needs a description`);
      assert.match(s.env, /^TRIBUTARY_[A-Z0-9_]+$/);
    }
    assert.equal(new Set(SETTINGS.map((s) => s.env)).size, SETTINGS.length);
  });

  test('parseEnvValue converts by type and leaves unparsable text for validation to report', () => {
    assert.equal(parseEnvValue(Type.Integer(), ' 42 '), 42);
    assert.equal(parseEnvValue(Type.Integer(), '4x'), '4x');
    assert.equal(parseEnvValue(Type.Boolean(), 'YES'), true);
    assert.equal(parseEnvValue(Type.Boolean(), 'off'), false);
    assert.equal(parseEnvValue(Type.Boolean(), 'maybe'), 'maybe');
    assert.deepEqual(parseEnvValue(Type.Array(Type.Integer()), '1, 2,,3'), [1, 2, 3]);
    assert.equal(parseEnvValue(Type.String(), '  padded '), 'padded');
  });

  test('closest suggests near misses only', () => {
    assert.equal(closest('TRIBUTARY_DATABSE_URL', ['TRIBUTARY_DATABASE_URL', 'TRIBUTARY_AMQP_URL']), 'TRIBUTARY_DATABASE_URL');
    assert.equal(closest('colour', ['dataDir', 'hubName']), undefined);
  });

  test('JSON pointers become dotted paths with indexes', () => {
    assert.equal(pointerToPath('/kafka/brokers/1'), 'kafka.brokers[1]');
    assert.equal(pointerToPath('/roles'), 'roles');
    assert.equal(pointerToPath(''), '');
  });
});
