/**
 * `tributary bench <scenario>` / `npm run bench -- <scenario>`: start the hub (hub-child.ts), provision the devices
 * through the service API, drive them from the simulator's worker threads with a live progress line, follow every
 * message to the log, optionally to ClickHouse, run the Mosquitto baseline where the scenario has one, and write
 * `<scenario>-<timestamp>.json` and `.html`. Ctrl-C stops the run and still writes the (partial) report.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TributaryError } from '../../core/errors/index.ts';
import { sourceAddresses } from '../connections.bench.ts';
import { compareReports, formatComparison, readReport } from '../report/compare.ts';
import { describeLoad, renderHtml } from '../report/html.ts';
import { latencyFigures, latencyFiguresOf, valueAt } from '../report/percentiles.ts';
import { REPORT_FORMAT, type BenchReport, type RunFigures } from '../report/types.ts';
import { openFilesLimit, pidOf, rssKiB } from '../simulator/proc.ts';
import { progressLine, resultLines } from '../simulator/progress.ts';
import { sleep } from '../simulator/rate-limiter.ts';
import { runScenario, type Progress, type RunResult } from '../simulator/runner.ts';
import { validateScenario, type Scenario } from '../simulator/scenario.ts';
import type { IotHubTarget, Target } from '../simulator/target.ts';
import { startBenchHub, type BenchHub } from './bench-hub.ts';
import { singleHubSet, startSplitHubs, type HubSet } from './split.ts';
import { USAGE, parseBenchOptions, type BenchOptions } from './bench-options.ts';
import { measureClickHouse } from './clickhouse.ts';
import { benchCredentials, provisionDevices } from './provision.ts';
import { Sampler } from './sampler.ts';

export interface BenchRunHooks {
  /** Environment of the hub process (tests pin the embedded platform); process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Where progress goes (stderr by default). */
  progress?: NodeJS.WriteStream;
  /** Stops the run like Ctrl-C does. */
  signal?: AbortSignal;
  /** Called with every progress update of the Tributary run (tests stop a run part-way with it). */
  onProgress?: (p: Progress) => void;
}

export interface BenchRunOutput {
  report: BenchReport;
  jsonPath: string;
  htmlPath: string;
}

const MIN_CONNECTIONS_FOR_MEMORY = 1000;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Redraws one line on a terminal ~1/s; elsewhere (CI logs) prints a line every 5 s. */
function statusLine(stream: NodeJS.WriteStream) {
  const tty = stream.isTTY === true;
  let last = 0;
  return {
    show(line: string) {
      if (tty) stream.write(`\r\x1b[K${line.slice(0, (stream.columns || 200) - 1)}`);
      else if (performance.now() - last >= 5000) {
        last = performance.now();
        stream.write(`${line}\n`);
      }
    },
    clear() {
      if (tty) stream.write('\r\x1b[K');
    },
  };
}

/** Fits an idle scenario to the open-file limit: this process and the hub each hold one socket per connection. */
export function fitToFileLimit(load: Scenario, softLimit: number): { load: Scenario; note?: string } {
  const max = softLimit - 300;
  if (load.devices <= max) return { load };
  if (max < 1) throw new TributaryError('ArgumentInvalid', `the open-file limit (${softLimit}) leaves no room for connections: run \`ulimit -n 65536\` first`);
  const note = `devices capped at ${max} by the open-file limit (ulimit -n ${softLimit}); raise it (e.g. \`ulimit -n 1048576\`, hard limit permitting) for more`;
  return { load: validateScenario({ ...load, devices: max, localAddresses: sourceAddresses(max) }), note };
}

function runFigures(r: RunResult, processes: RunFigures['processes']): RunFigures {
  return {
    target: r.target, seconds: r.seconds, sent: r.sent, acked: r.acked, failed: r.failed, unacked: r.unacked, rate: r.rate,
    connected: r.connected, connectFailures: r.connectFailures, drops: r.drops, connectLatency: r.connectLatency,
    puback: latencyFiguresOf([r.histograms.latency]), errors: r.errors, processes, interrupted: r.interrupted,
  };
}

export async function runBench(name: string, argv: string[], hooks: BenchRunHooks = {}): Promise<BenchRunOutput> {
  const o: BenchOptions = parseBenchOptions(name, argv, hooks.env ?? process.env);
  const out = hooks.progress ?? process.stderr;
  const notes: string[] = [];
  let load = o.load;
  if (o.bench.fitToFileLimit) {
    const fitted = fitToFileLimit(load, openFilesLimit().soft);
    load = fitted.load;
    if (fitted.note) notes.push(fitted.note);
  }
  if (load.authMix.x509 > 0 && load.protocol === 'mqtt-ws') notes.push('X.509 over WebSockets needs the hub\'s HTTPS server to request client certificates');
  const runId = randomBytes(4).toString('hex');
  // Device ids carry the run id, so runs against a shared PostgreSQL registry never collide.
  load = { ...load, deviceIdPrefix: `${load.deviceIdPrefix}-${runId}` };
  const startedAt = new Date();
  const outDir = resolve(o.outDir);
  await mkdir(outDir, { recursive: true });
  const base = join(outDir, `${o.bench.name}-${startedAt.toISOString().replace(/[:.]/g, '-')}`);
  const hubLog = `${base}.hub.log`;

  const abort = new AbortController();
  hooks.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    out.write('\nstopping: draining and writing a partial report (Ctrl-C again to exit at once) …\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  const status = statusLine(out);
  let hubs: HubSet | undefined;
  try {
    out.write(`▶ ${o.bench.name}: ${o.bench.description}\n  load: ${describeLoad(load)}\n`);
    const t0 = performance.now();
    const baseEnv = hooks.env ?? process.env;
    const clickhouseSink = o.clickhouseUrl ? { url: o.clickhouseUrl, database: o.clickhouseDatabase } : undefined;
    if (o.split.split) {
      out.write(`  starting the hub as one process per role group (${o.split.reason}; logs: ${base}.hub-*.log) …\n`);
      hubs = await startSplitHubs({
        logBase: base, env: baseEnv, clickhouse: clickhouseSink,
        onReady: (label, h) => out.write(`  ${label} pid ${h.pid} ready after ${fmt((performance.now() - t0) / 1000, 1)} s\n`),
      });
      for (const n of hubs.notes) out.write(`  ${n}\n`);
      notes.push(...hubs.notes);
    } else {
      // A scenario that splits by default says why it does not (embedded platform, TRIBUTARY_ROLES, --no-split).
      out.write(`  starting the hub (${o.bench.split ? `${o.split.reason}; ` : ''}log: ${hubLog}) …\n`);
      // --clickhouse / --clickhouse-database must reach the hub too, or its connector never writes what is measured.
      const hubEnv = clickhouseSink ? { ...baseEnv, TRIBUTARY_CLICKHOUSE_URL: clickhouseSink.url, TRIBUTARY_CLICKHOUSE_DATABASE: clickhouseSink.database } : baseEnv;
      hubs = singleHubSet(await startBenchHub({ logFile: hubLog, env: hubEnv }), hubLog, baseEnv.TRIBUTARY_ROLES);
    }
    const hub = hubs.main;
    const hubStartSeconds = (performance.now() - t0) / 1000;
    out.write(`  hub ${o.split.split ? 'processes' : `pid ${hub.pid}`} ready in ${fmt(hubStartSeconds, 1)} s: ${Object.values(hub.ready.platform).join('; ')}\n`);
    const mqttPort = hub.ready.mqttPort;
    if (mqttPort === undefined) throw new TributaryError('ArgumentInvalid', `the hub runs no ingest role (TRIBUTARY_ROLES=${baseEnv.TRIBUTARY_ROLES ?? ''}): there is nothing to load`);

    const t1 = performance.now();
    const credentials = await benchCredentials(load);
    await provisionDevices(hub.service, load, credentials, { signal: abort.signal, onProgress: (done) => status.show(`  provisioning ${fmt(done)}/${fmt(load.devices)} devices through POST /devices …`) });
    status.clear();
    const provisionSeconds = (performance.now() - t1) / 1000;
    out.write(`  ${fmt(load.devices)} devices provisioned through the service API in ${fmt(provisionSeconds, 1)} s\n`);

    if (abort.signal.aborted) throw new TributaryError('InvalidOperation', 'interrupted before the load started: no report written');
    const target: IotHubTarget = {
      kind: 'iothub', name: 'tributary', host: '127.0.0.1', port: mqttPort, hubName: hub.ready.hubName,
      // SNI must be a name (RFC 6066); the hub's certificate covers localhost.
      servername: 'localhost', caPem: hub.ready.caPem, deviceKey: credentials.sasKey, wsPort: hub.ready.httpsPort,
      ...(credentials.x509 ? { x509: { certPem: credentials.x509.certPem, keyPem: credentials.x509.keyPem } } : {}),
    };
    await hub.watch(runId);
    await hub.gc();
    const memory: BenchReport['memory'] = { idleRssKiB: rssKiB(hub.pid), connections: 0 };
    const hubSet = hubs;
    const sampler = new Sampler(hub, [...hubSet.processes.map((p) => ({ name: p.name, pid: p.hub.pid })), ...optionalProcesses(hub.ready.logKind)]);
    sampler.phase = 'running';
    const show = (p: Progress) => {
      sampler.progress = p;
      if (p.target === 'tributary') hooks.onProgress?.(p);
      const hubRss = sampler.hubRssKiB();
      status.show(`${progressLine(p)}  log ${fmt(sampler.unique)}${hubRss !== undefined ? `  hub ${fmt(hubRss / 1024)} MiB` : ''}`);
    };
    const hubRef = hub;
    const readConnected = async (open: number) => {
      await hubRef.gc();
      memory.connectedRssKiB = rssKiB(hubRef.pid);
      memory.connections = open;
      // Below ~1,000 connections the growth is lost in the noise of the heap (it can even come out negative).
      if (open >= MIN_CONNECTIONS_FOR_MEMORY) memory.perConnectionKiB = (memory.connectedRssKiB - memory.idleRssKiB!) / open;
      else notes.push(`memory per connection not computed: ${open} connections are too few to rise above the heap's noise (needs ${MIN_CONNECTIONS_FOR_MEMORY})`);
    };
    sampler.start();
    let result: RunResult;
    try {
      result = await runScenario(load, target, {
        runId, signal: abort.signal, onProgress: show,
        beforeGo: (totals) => readConnected(totals.open),
        hold: async (totals) => {
          await sleep(o.holdSeconds * 1000, abort.signal);
          await readConnected(totals.open);
        },
      });
      status.clear();
      // Every acknowledged message must reach the log; wait for the stragglers (bounded, shorter after Ctrl-C).
      sampler.phase = 'settling';
      const settleUntil = performance.now() + (abort.signal.aborted ? 3_000 : 60_000);
      while (sampler.unique < result.acked && performance.now() < settleUntil && hub.alive() && !(sampler.quietSeconds > 10)) {
        await sleep(250);
        status.show(`  settling: ${fmt(sampler.unique)} of ${fmt(result.acked)} acknowledged messages seen on the log …`);
      }
      status.clear();
      // With --split the pipeline has processes of its own: give it time to catch up before ClickHouse is counted.
      if (o.split.split && clickhouseSink) await drainPipeline(sampler, hubSet, abort.signal, status);
      status.clear();
      await sampler.flush();
    } finally {
      sampler.stop();
    }
    for (const p of hubSet.processes) if (!p.hub.alive()) notes.push(`${p.name} exited during the run; its log is ${p.logFile}`);

    const clickhouse = await measureClickHouse({ url: o.clickhouseUrl, database: o.clickhouseDatabase, runId, expected: result.acked });
    if ((hooks.env ?? process.env).TRIBUTARY_DATABASE_URL) {
      await provisionDevices(hub.service, load, credentials, { importMode: 'delete' }).catch((err: unknown) => notes.push(`removing the bench devices failed: ${(err as Error).message}`));
    }
    await hubSet.close();
    hubs = undefined;

    const tributary = runFigures(result, sampler.processes());
    let baseline: BenchReport['baseline'];
    if (o.mosquitto && !abort.signal.aborted) {
      if (load.protocol !== 'mqtt') notes.push('Mosquitto baseline skipped: the pre-started Mosquitto has no WebSocket listener');
      else baseline = await mosquittoBaseline(o.mosquitto, load, abort.signal, show, status);
    }
    if (baseline) baseline.ratio = baseline.mosquitto.rate > 0 ? tributary.rate / baseline.mosquitto.rate : 0;

    const report: BenchReport = {
      format: REPORT_FORMAT,
      scenario: { name: o.bench.name, description: o.bench.description, load },
      runId,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      interrupted: abort.signal.aborted,
      environment: {
        node: process.version, cpus: cpus().length, hub: hubRefPlatform(hubRef), log: hubSet.processes[0]?.logFile ?? hubLog,
        commandLine: `tributary bench ${[name, ...argv].join(' ')}`,
        hubProcesses: hubSet.processes.map((p) => ({ name: p.name, pid: p.hub.pid, roles: p.roles, log: p.logFile })),
      },
      setup: { hubStartSeconds, provisionSeconds, devices: load.devices },
      tributary,
      endToEnd: {
        unique: sampler.unique, duplicates: sampler.duplicates, byAuth: sampler.byAuth, missing: Math.max(0, result.acked - sampler.unique),
        ...(sampler.arrival.totalCount > 0 ? { arrival: latencyFigures(sampler.arrival) } : {}),
        ...(sampler.enqueue.totalCount > 0 ? { enqueue: latencyFigures(sampler.enqueue) } : {}),
      },
      memory,
      lag: {
        max: sampler.lagMax, end: sampler.lagEnd,
        ...(hubSet.starts.length > 0 ? { start: Object.fromEntries(hubSet.starts.map((g) => [g.group, { behind: g.behind, action: g.action, members: g.members }])) } : {}),
      },
      clickhouse,
      ...(baseline ? { baseline } : {}),
      timeline: sampler.timeline,
      notes,
    };
    const jsonPath = `${base}.json`;
    const htmlPath = `${base}.html`;
    await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(htmlPath, renderHtml(report));
    printSummary(report, result, jsonPath, htmlPath);
    const baselineFile = o.baselineFile ?? defaultBaseline(o.bench.name);
    if (baselineFile) {
      console.log(`\ncompared with ${baselineFile}:`);
      console.log(formatComparison(compareReports(readReport(baselineFile), report)));
    }
    return { report, jsonPath, htmlPath };
  } finally {
    status.clear();
    process.off('SIGINT', onSigint);
    await hubs?.close();
  }
}

/**
 * `--split` with ClickHouse: after the log has every acknowledged message, wait until the telemetry groups
 * (enrich, router, the ClickHouse connector) have caught up, so the row count is not cut short by a pipeline still
 * working through the run. Bounded: it gives up when the lag has not fallen for 20 s (other traffic on a shared Kafka,
 * or a stuck process), after 15 minutes (a 10k msg/s run on 2 cores can leave millions of records behind), or 3 s
 * after Ctrl-C.
 */
async function drainPipeline(sampler: Sampler, hubs: HubSet, signal: AbortSignal, status: { show(line: string): void }): Promise<void> {
  sampler.phase = 'draining';
  const start = performance.now();
  let best = Infinity;
  let bestAt = start;
  for (;;) {
    const now = performance.now();
    const lag = Object.values(sampler.lagEnd).reduce((a, b) => a + b, 0);
    if (lag < best) [best, bestAt] = [lag, now];
    if (lag === 0 || now - bestAt > 20_000 || now - start > (signal.aborted ? 3_000 : 900_000)) return;
    if (hubs.processes.some((p) => !p.hub.alive())) return;
    status.show(`  draining: the processors and connectors are ${fmt(lag)} records behind …`);
    await sleep(500);
  }
}

function hubRefPlatform(hub: BenchHub): Record<string, string> {
  return { ...hub.ready.platform, pid: String(hub.pid) };
}

/** Other servers on the path whose CPU and RSS belong in the report, when exactly one of each runs. */
function optionalProcesses(logKind: 'kafka' | 'embedded'): Array<{ name: string; pid: number }> {
  // pgrep -x matches the 15-character process name the kernel keeps (`comm`); Kafka is a `java` among others.
  const found = [{ name: 'clickhouse-server', pid: pidOf('clickhouse-serv') }];
  if (logKind === 'kafka') found.push({ name: 'kafka', pid: pidByCommandLine('kafka\\.Kafka') });
  return found.flatMap(({ name, pid }) => (pid === undefined ? [] : [{ name, pid }]));
}

function pidByCommandLine(pattern: string): number | undefined {
  try {
    const pids = execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').filter(Boolean);
    return pids.length === 1 ? Number(pids[0]) : undefined;
  } catch {
    return undefined;
  }
}

/** A checked-in baseline for the scenario (`load-tests/baselines/<name>.json`), when there is one. */
function defaultBaseline(name: string): string | undefined {
  const file = new URL(`../baselines/${name}.json`, import.meta.url);
  return existsSync(file) ? file.pathname : undefined;
}

async function mosquittoBaseline(
  hostPort: string, load: Scenario, signal: AbortSignal, show: (p: Progress) => void, status: { clear(): void },
): Promise<BenchReport['baseline']> {
  const [host = '127.0.0.1', port = '1883'] = hostPort.split(':');
  const pid = pidOf('mosquitto');
  console.log(`\n▶ the same generator against Mosquitto (plain MQTT 3.1.1 on ${host}:${port}, no TLS, no auth)`);
  const target: Target = { kind: 'mqtt', name: 'mosquitto', host, port: Number(port), topicPrefix: `tributary-bench-${randomBytes(3).toString('hex')}` };
  const sampler = new Sampler(undefined, pid === undefined ? [] : [{ name: 'mosquitto', pid }]);
  sampler.phase = 'running';
  sampler.start();
  let result: RunResult;
  try {
    result = await runScenario(load, target, { signal, onProgress: (p) => ((sampler.progress = p), show(p)) });
  } finally {
    sampler.stop();
    status.clear();
  }
  await sampler.flush();
  for (const line of resultLines(result)) console.log(line);
  return { mosquitto: runFigures(result, sampler.processes()), ratio: 0, ratioOf: 'Tributary msg/s ÷ Mosquitto msg/s' };
}

function printSummary(r: BenchReport, result: RunResult, jsonPath: string, htmlPath: string): void {
  console.log('');
  for (const line of resultLines(result)) console.log(line);
  const e = r.endToEnd;
  const ms = (v: number | undefined) => (v === undefined ? '–' : fmt(v, 2));
  const idle = r.scenario.load.mode === 'idle';
  if (idle) console.log(`  held         ${fmt(r.memory.connections)} connections open; hub RSS ${fmt((r.memory.idleRssKiB ?? 0) / 1024, 1)} MiB without, ${fmt((r.memory.connectedRssKiB ?? 0) / 1024, 1)} MiB with them`);
  const auth = Object.entries(e.byAuth).map(([k, n]) => `${k} ${fmt(n)}`).join(', ');
  if (!idle) console.log(`  end to end   ${fmt(e.unique)} of ${fmt(r.tributary.acked)} acked messages read back from the log (${fmt(e.duplicates)} duplicates, ${fmt(e.missing)} missing${auth ? `; by auth: ${auth}` : ''})`);
  if (e.arrival) console.log(`  device→log   p50 ${ms(valueAt(e.arrival, 50))}  p99 ${ms(valueAt(e.arrival, 99))}  max ${ms(valueAt(e.arrival, 100))} ms (enqueued p99 ${ms(valueAt(e.enqueue, 99))} ms)`);
  const ch = r.clickhouse;
  const chFigures = ch.rows !== undefined ? `${fmt(ch.rows)} of ${fmt(r.tributary.acked)} rows${ch.latency ? `, device→ClickHouse p50 ${ms(valueAt(ch.latency, 50))}  p99 ${ms(valueAt(ch.latency, 99))}  max ${ms(valueAt(ch.latency, 100))} ms` : ''}; ` : '';
  if (!idle) console.log(`  ClickHouse   ${ch.status}: ${chFigures}${ch.note}`);
  for (const p of r.tributary.processes) console.log(`  ${p.name.padEnd(17)} ${p.publishingCores !== undefined ? `${fmt(p.publishingCores, 2)} cores while publishing, ` : ''}${fmt(p.averageCores, 2)} over the run, RSS ${fmt(p.rssKiB.start / 1024, 1)} → peak ${fmt(p.rssKiB.peak / 1024, 1)} MiB`);
  if (r.memory.perConnectionKiB !== undefined) console.log(`  memory       ${fmt(r.memory.perConnectionKiB, 2)} KiB hub RSS per connection (${fmt(r.memory.connections)} open)`);
  const lags = Object.entries(r.lag.max);
  if (lags.length > 0) console.log(`  lag max      ${lags.map(([g, n]) => `${g} ${fmt(n)}`).join(', ')}`);
  if (r.baseline) console.log(`  Mosquitto    ${fmt(r.baseline.mosquitto.rate)} msg/s → ratio Tributary/Mosquitto ${fmt(r.baseline.ratio, 2)}×`);
  for (const n of r.notes) console.log(`  note: ${n}`);
  console.log(`\nreport: ${htmlPath}\n        ${jsonPath}`);
}

/** The `Benchmark` the CLI registry runs for a built-in scenario name. */
export function scenarioBenchmark(name: string): { run(argv: string[]): Promise<void> } {
  return {
    async run(argv) {
      // `--help` itself is taken by the CLI (commander) before it reaches here.
      if (argv.includes('--usage') || argv.includes('--help')) return void console.log(USAGE);
      await runBench(name, argv);
    },
  };
}
