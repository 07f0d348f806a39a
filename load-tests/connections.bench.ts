/**
 * `npm run bench -- connections-memory` / `tributary bench connections-memory`: memory per idle MQTT connection on the server.
 * Opens N connections (default 10,000; 1,000 under CI=true) from worker threads at a bounded rate, spread over several
 * loopback source addresses (127.0.0.2, 127.0.0.3, …) because one source address has only ~28k ephemeral ports toward
 * one server port (net.ipv4.ip_local_port_range), then reads the server's VmRSS before and after and divides.
 * Target for Tributary: ≤ 20 KB per idle TLS connection (issue 5 item 7).
 *
 * Baseline: the pre-started Mosquitto on 127.0.0.1:1883 (its pid from `pgrep -x mosquitto`). That listener is plain
 * TCP (no TLS listener is configured), so its figure is the per-connection cost without TLS state — a floor, not a
 * like-for-like comparison; the report says so.
 *
 * File descriptors: this process holds one socket per connection (all worker threads share the process limit), and
 * so does the server. `ulimit -n` must exceed N + ~200 in the shell that runs the bench and in the one that started
 * the server; node cannot raise its own hard limit. E.g. `ulimit -n 65536 && npm run bench -- connections`
 * (raising the hard limit needs root or /etc/security/limits.conf). The bench checks both before it starts.
 *
 * Options: --connections N  --sources K (loopback source addresses, default enough for N)  --connect-rate R (1000)
 *          --workers T (2)  --settle S (seconds to wait before reading RSS, 3)  --targets mosquitto,tributary
 *          --mosquitto host:port (127.0.0.1:1883)  --json FILE
 * All traffic stays on 127.0.0.0/8.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TributaryError } from '../core/errors/index.ts';
import { openFilesLimit, openFilesLimitOf, pidOf, rssKiB } from './simulator/proc.ts';
import { progressPrinter, resultLines } from './simulator/progress.ts';
import { sleep } from './simulator/rate-limiter.ts';
import { runScenario, type RunResult } from './simulator/runner.ts';
import { isLoopbackV4, validateScenario, type Scenario } from './simulator/scenario.ts';
import { describeTarget, type Target } from './simulator/target.ts';
import { startTributaryHub } from './tributary/hub.ts';

/** Ephemeral ports per source address toward one server port, with headroom below the ~28k of the default range. */
const PORTS_PER_SOURCE = 20_000;

export interface MemoryFigure {
  target: string;
  tls: boolean;
  pid: number;
  connections: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  /** KiB per open connection. */
  perConnectionKiB: number;
  result: RunResult;
}

/** The ≤ 20 KB verdict, withheld when too few connections opened for the division to mean anything. */
export function memoryVerdict(perConnectionKiB: number, open: number, requested: number): string {
  if (open < requested * 0.9 || perConnectionKiB <= 0) return `  target ≤ 20 KB: inconclusive (${open} of ${requested} connections open)`;
  return `  target ≤ 20 KB: ${perConnectionKiB * 1.024 <= 20 ? 'met' : 'NOT met'}`;
}

export function defaultConnections(env: NodeJS.ProcessEnv = process.env): number {
  return env.CI === 'true' || env.CI === '1' ? 1_000 : 10_000;
}

/** 127.0.0.2 … : enough source addresses for `connections` at PORTS_PER_SOURCE each, at least two. */
export function sourceAddresses(connections: number, count?: number): string[] {
  const n = count ?? Math.max(2, Math.ceil(connections / PORTS_PER_SOURCE));
  if (n > 250) throw new TributaryError('ArgumentInvalid', `--sources ${n}: at most 250 loopback source addresses (127.0.0.2–127.0.0.251)`);
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 2}`);
}

/** Fails early, with what to do, when this process or the server cannot hold the sockets. */
export function checkFileLimits(connections: number, own: number, server: number | undefined, serverName: string): string[] {
  const needed = connections + 200;
  if (own < needed) {
    throw new TributaryError('ArgumentInvalid',
      `this process may open ${own} files but ${connections} connections need about ${needed}: run \`ulimit -n ${Math.max(needed, 65_536)}\` in this shell first, or pass a smaller --connections`);
  }
  if (server !== undefined && server < needed) {
    return [`warning: ${serverName} may open only ${server} files; connections beyond that will be refused (raise its limit, e.g. LimitNOFILE in its unit)`];
  }
  return [];
}

/**
 * The server's resident memory by kind of mapping (/proc/<pid>/smaps), to tell where per-connection memory goes:
 * `brk` is glibc's main malloc arena (OpenSSL and Node's native objects of the main thread), `anonymous` is mmapped
 * memory without a file (V8's heap pages, other malloc arenas, large mallocs), `file` is code, mapped files and the stacks.
 */
export interface RssSplit {
  brkKiB: number;
  anonymousKiB: number;
  fileKiB: number;
}

export function parseSmapsRss(smaps: string): RssSplit {
  const split: RssSplit = { brkKiB: 0, anonymousKiB: 0, fileKiB: 0 };
  let kind: keyof RssSplit = 'anonymousKiB';
  for (const line of smaps.split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+\s+\S+\s+\S+\s+\S+\s+\d+\s*(.*)$/.exec(line);
    if (header) {
      const name = header[1]!.trim();
      kind = name === '[heap]' ? 'brkKiB' : name === '' || name.startsWith('[anon') ? 'anonymousKiB' : 'fileKiB';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss) split[kind] += Number(rss[1]);
  }
  return split;
}

function rssSplit(pid: number): RssSplit | undefined {
  try {
    return parseSmapsRss(readFileSync(`/proc/${pid}/smaps`, 'utf8'));
  } catch {
    return undefined; // another user's process: smaps is not readable
  }
}

async function measure(target: Target, pid: number, scenario: Scenario, settleSeconds: number, signal: AbortSignal, gc?: () => Promise<void>): Promise<MemoryFigure> {
  console.log(`\n▶ ${describeTarget(target)}, server pid ${pid}`);
  for (const w of checkFileLimits(scenario.devices, openFilesLimit().soft, openFilesLimitOf(pid), target.name)) console.log(`  ${w}`);
  await sleep(1000, signal);
  await gc?.();
  const before = rssKiB(pid);
  const splitBefore = rssSplit(pid);
  let splitAfter: RssSplit | undefined;
  let after = before;
  let open = 0;
  const progress = progressPrinter();
  const result = await runScenario(scenario, target, {
    signal,
    onProgress: progress.onProgress,
    async hold(totals) {
      // Let the server finish its per-connection allocations (session state, buffers) before reading RSS.
      await sleep(settleSeconds * 1000, signal);
      await gc?.();
      after = rssKiB(pid);
      splitAfter = rssSplit(pid);
      open = totals.open;
    },
  });
  progress.clear();
  for (const line of resultLines(result)) console.log(line);
  const perConnectionKiB = open > 0 ? (after - before) / open : 0;
  console.log(`  server RSS   ${(before / 1024).toFixed(1)} MiB before, ${(after / 1024).toFixed(1)} MiB with ${open.toLocaleString('en-US')} open → ${perConnectionKiB.toFixed(2)} KiB per connection`);
  if (splitBefore && splitAfter && open > 0) {
    const per = (k: keyof RssSplit) => ((splitAfter![k] - splitBefore[k]) / open).toFixed(2);
    console.log(`  of which    malloc brk heap ${per('brkKiB')} KiB, anonymous mappings (V8 heap, other arenas) ${per('anonymousKiB')} KiB, file-backed and stacks ${per('fileKiB')} KiB per connection`);
  }
  return { target: target.name, tls: target.kind === 'iothub' || target.tls !== undefined, pid, connections: open, rssBeforeKiB: before, rssAfterKiB: after, perConnectionKiB, result };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      connections: { type: 'string' }, sources: { type: 'string' }, 'connect-rate': { type: 'string' }, workers: { type: 'string' },
      settle: { type: 'string', default: '3' }, targets: { type: 'string', default: 'mosquitto,tributary' },
      mosquitto: { type: 'string', default: '127.0.0.1:1883' }, json: { type: 'string' },
    },
  });
  const connections = values.connections !== undefined ? Number(values.connections) : defaultConnections();
  const localAddresses = sourceAddresses(connections, values.sources !== undefined ? Number(values.sources) : undefined);
  const scenario = validateScenario({
    // A prefix of its own per run: hubs on one Kafka close each other's connections of the same device id (the newer
    // connect wins across nodes), so two benches (or a bench and a test) with fixed ids would drop each other's devices.
    name: 'connections', mode: 'idle', devices: connections, deviceIdPrefix: `idle-${Date.now().toString(36)}`, localAddresses,
    connectRate: Number(values['connect-rate'] ?? 1000), workers: Number(values.workers ?? 2), reconnect: false,
  });
  const targets = String(values.targets).split(',').map((t) => t.trim());
  console.log(`connections bench: ${connections.toLocaleString('en-US')} idle connections from ${localAddresses[0]}…${localAddresses.at(-1)} ` +
    `at ${scenario.connectRate}/s over ${scenario.workers} worker threads (fd limit here: ${openFilesLimit().soft})`);

  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\nstopping (Ctrl-C again to exit at once) …\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  const figures: MemoryFigure[] = [];
  try {
    if (targets.includes('mosquitto')) {
      const [host = '', port = ''] = String(values.mosquitto).split(':');
      if (!isLoopbackV4(host)) throw new TributaryError('ArgumentInvalid', `--mosquitto ${host}: the bench only connects to 127.0.0.0/8`);
      const pid = pidOf('mosquitto');
      if (pid === undefined) throw new TributaryError('ArgumentInvalid', 'no single mosquitto process found (pgrep -x mosquitto); pass --targets tributary to skip the baseline');
      figures.push(await measure({ kind: 'mqtt', name: 'mosquitto', host, port: Number(port) }, pid, scenario, Number(values.settle), abort.signal));
    }
    if (targets.includes('tributary') && !abort.signal.aborted) {
      console.log('\nstarting a Tributary ingest node (child process) and provisioning the bench devices …');
      const hub = await startTributaryHub({ devices: { prefix: scenario.deviceIdPrefix, count: connections } });
      try {
        figures.push(await measure(hub.target, hub.pid, scenario, Number(values.settle), abort.signal, () => hub.gc()));
      } finally {
        await hub.close();
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  console.log('\nsummary (server RSS growth per idle connection)');
  for (const f of figures) {
    const verdict = f.target !== 'tributary' ? '' : memoryVerdict(f.perConnectionKiB, f.connections, scenario.devices);
    console.log(`  ${f.target.padEnd(10)} ${f.tls ? 'TLS  ' : 'plain'} ${f.connections.toLocaleString('en-US').padStart(7)} connections  ${f.perConnectionKiB.toFixed(2)} KiB each${verdict}`);
  }
  if (values.json) writeFileSync(values.json, JSON.stringify({ scenario, figures }, null, 2));
}
