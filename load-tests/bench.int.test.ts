/**
 * The load-test harness end to end on a run small enough to count: an embedded hub (embedded log, PGlite) in its own
 * process, devices provisioned through the service API, a known number of messages. The report must account for
 * every one of them — acknowledged by PUBACK and read back from iot.device.messages — and its HTML must be one
 * self-contained file. Counts only; no timing assertions. The last test runs `--split` (one hub process per role
 * group) on the real Kafka, PostgreSQL, schema registry and ClickHouse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { services, uniqueName } from '../test/support/services.ts';
import { runBench } from './harness/run-bench.ts';
import { externalReferences } from './report/html.ts';

/** On a failure, the end of the hub's log (kept beside the report) goes into the error: the directory is removed after. */
async function withHubLog<T>(out: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // `<report>.hub.log`, or `<report>.hub-<group>.log` per process with --split.
    const logs = readdirSync(out).filter((f) => /\.hub(-[a-z]+)?\.log$/.test(f));
    const tail = logs.map((f) => readFileSync(join(out, f), 'utf8').split('\n').slice(-30).join('\n')).join('\n');
    if (err instanceof Error) err.message += `\n--- hub log ---\n${tail}`;
    throw err;
  }
}

/** The embedded platform whatever the shell says: these runs must not touch the shared Kafka or PostgreSQL. */
function embeddedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('TRIBUTARY_') && !key.startsWith('TRIBUTARY_TEST')) delete env[key];
  return env;
}

test('3 devices × 20 messages (one of them X.509): exactly 60 acknowledged and 60 read back from the log', async () => {
  const out = await mkdtemp(join(tmpdir(), 'bench-int-'));
  try {
    const devices = 3;
    const perDevice = 20;
    const { report, jsonPath, htmlPath } = await runBench('smoke', ['--devices', String(devices), '--messages', String(devices * perDevice), '--x509', '0.34', '--workers', String(devices), '--out', out], { env: embeddedEnv() });
    const n = devices * perDevice;
    const t = report.tributary;
    assert.equal(report.interrupted, false);
    assert.equal(report.setup.devices, devices);
    assert.equal(report.scenario.load.authMix.x509, 0.34);
    assert.equal(t.connected, devices);
    assert.equal(t.connectFailures, 0);
    assert.equal(t.sent, n);
    assert.equal(t.acked, n);
    assert.equal(t.failed, 0);
    assert.equal(t.unacked, 0);
    assert.deepEqual(t.errors, {});
    assert.equal(t.puback.summary.count, n, 'one PUBACK latency per message');
    assert.equal(report.endToEnd.unique, n, 'every message read back from iot.device.messages');
    assert.equal(report.endToEnd.duplicates, 0);
    assert.equal(report.endToEnd.missing, 0);
    // One worker per device splits the budget 20/20/20; the X.509 share 0.34 makes device 2 (and only it) X.509.
    assert.deepEqual(report.endToEnd.byAuth, { sas: 2 * perDevice, x509Certificate: perDevice });
    assert.equal(report.endToEnd.arrival?.summary.count, n);
    assert.equal(report.endToEnd.enqueue?.summary.count, n);
    const hub = t.processes.find((p) => p.name === 'hub');
    assert.ok(hub && hub.pid > 0 && hub.rssKiB.peak > 0, 'the hub process was measured');
    assert.ok(report.timeline.length > 0);
    assert.equal(report.timeline.at(-1)!.arrived, n);
    assert.equal(report.clickhouse.status, 'not-configured');

    assert.deepEqual(JSON.parse(readFileSync(jsonPath, 'utf8')), JSON.parse(JSON.stringify(report)));
    assert.ok(existsSync(htmlPath));
    const html = readFileSync(htmlPath, 'utf8');
    assert.ok((html.match(/<svg\b/g) ?? []).length >= 5, 'the plots are inline SVG');
    assert.deepEqual(externalReferences(html), [], 'no external reference of any kind');
    assert.ok(existsSync(report.environment.log), 'the hub log is kept beside the report');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('MQTT over WebSockets, stopped part-way like Ctrl-C: a partial report that still adds up', async () => {
  const out = await mkdtemp(join(tmpdir(), 'bench-int-'));
  try {
    const stop = new AbortController();
    const { report, htmlPath } = await runBench('smoke', ['--devices', '2', '--duration', '120', '--rate', '40', '--protocol', 'mqtt-ws', '--out', out], {
      env: embeddedEnv(), signal: stop.signal, onProgress: (p) => p.totals.acked >= 20 && stop.abort(),
    });
    const t = report.tributary;
    assert.equal(report.interrupted, true);
    assert.equal(report.scenario.load.protocol, 'mqtt-ws');
    assert.ok(t.acked >= 20, `${t.acked} acked`);
    assert.ok(t.acked < 40 * 120, 'stopped long before the end');
    assert.equal(t.sent, t.acked + t.failed + t.unacked, 'every publish is accounted for');
    assert.equal(report.endToEnd.unique + report.endToEnd.missing, t.acked);
    assert.ok(report.endToEnd.unique <= t.acked + report.endToEnd.duplicates);
    assert.match(readFileSync(htmlPath, 'utf8'), /Interrupted/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('with ClickHouse configured, every message is a row of {database}.messages and device→ClickHouse is timed', async () => {
  const out = await mkdtemp(join(tmpdir(), 'bench-int-'));
  // A database of its own on the shared ClickHouse, dropped afterwards.
  const database = uniqueName('bench_int').replaceAll('-', '_');
  const drop = () => fetch(new URL('/', services.clickhouseUrl), { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` });
  try {
    const env = { ...embeddedEnv(), TRIBUTARY_CLICKHOUSE_URL: services.clickhouseUrl, TRIBUTARY_CLICKHOUSE_DATABASE: database };
    const { report } = await withHubLog(out, () => runBench('smoke', ['--devices', '2', '--messages', '30', '--out', out], { env }));
    assert.equal(report.tributary.acked, 30);
    assert.equal(report.clickhouse.status, 'measured', report.clickhouse.note);
    assert.equal(report.clickhouse.rows, 30);
    assert.ok(report.clickhouse.latency && report.clickhouse.latency.summary.count >= 30, report.clickhouse.note);
  } finally {
    await drop();
    await rm(out, { recursive: true, force: true });
  }
});

test('--split on Kafka + PostgreSQL: three hub processes, exactly N rows in ClickHouse, CPU and RSS per process', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'bench-split-int-'));
  // A ClickHouse database of its own, dropped afterwards; devices carry the run id and are deleted by the run.
  const database = `bench_split_${Date.now()}`;
  const drop = () => fetch(new URL('/', services.clickhouseUrl), { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` });
  try {
    const env = {
      ...embeddedEnv(),
      TRIBUTARY_KAFKA_BROKERS: services.kafkaBrokers.join(','),
      TRIBUTARY_DATABASE_URL: services.databaseUrl,
      TRIBUTARY_SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
    };
    const devices = 4;
    const n = 400;
    const { report, htmlPath } = await withHubLog(out, () => runBench('smoke', [
      '--split', '--devices', String(devices), '--messages', String(n), '--workers', '2',
      '--clickhouse', services.clickhouseUrl, '--clickhouse-database', database, '--out', out,
    ], { env }));

    assert.equal(report.tributary.acked, n);
    assert.equal(report.endToEnd.unique, n);
    assert.equal(report.endToEnd.missing, 0);

    const labels = ['hub:ingest', 'hub:processors', 'hub:connectors'];
    assert.deepEqual(report.environment.hubProcesses?.map((p) => [p.name, p.roles]), [['hub:ingest', 'ingest,service'], ['hub:processors', 'processors'], ['hub:connectors', 'connectors']]);
    const procs = labels.map((name) => report.tributary.processes.find((p) => p.name === name));
    for (const [i, p] of procs.entries()) assert.ok(p && p.pid > 0 && p.rssKiB.peak > 0 && p.cpuSeconds > 0, `${labels[i]} measured`);
    assert.equal(new Set(procs.map((p) => p!.pid)).size, 3, 'three processes');
    assert.equal(report.tributary.processes.some((p) => p.name === 'hub'), false);
    // A CPU and RSS series per process: every sample has all three.
    assert.ok(report.timeline.length > 0);
    for (const point of report.timeline) assert.deepEqual(Object.keys(point.hubs ?? {}).sort(), [...labels].sort(), `sample at ${point.t} s`);
    const html = readFileSync(htmlPath, 'utf8');
    for (const name of labels) assert.ok(html.includes(`>${name}<`), `${name} in the HTML plots`);
    // Stopped cleanly: none of the three is left running.
    for (const p of procs) assert.throws(() => process.kill(p!.pid, 0), /ESRCH/, `${p!.name} exited`);

    // The run owned the telemetry groups unless another hub on this shared Kafka was in them at the time.
    const start = report.lag.start ?? {};
    assert.deepEqual(Object.keys(start).sort(), ['tributary-connector-clickhouse-events', 'tributary-processor-enrich', 'tributary-processor-router']);
    const shared = Object.entries(start).filter(([, s]) => s.action === 'busy').map(([g]) => g);
    assert.equal(report.clickhouse.status, 'measured', report.clickhouse.note);
    if (shared.length > 0) {
      t.diagnostic(`groups shared with another hub on this Kafka (${shared.join(', ')}): some rows may have gone to its ClickHouse database`);
      assert.ok(report.clickhouse.rows! <= n);
    } else {
      assert.equal(report.clickhouse.rows, n, 'every acknowledged message is a row of {database}.messages');
      assert.equal(report.clickhouse.latency?.summary.count, n);
    }
  } finally {
    await drop();
    await rm(out, { recursive: true, force: true });
  }
});
