/**
 * Starts the hub under test (hub-child.ts) as a forked process and talks to it over IPC: when it is ready, which
 * run to watch, one sample per second (arrivals, consumer lag, connections), a GC before memory readings, stop.
 * Its stdout/stderr (the hub's JSON log) go to a file beside the report, so the progress line stays readable.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceClient } from '../../cli/service-client.ts';
import { loadConfig } from '../../core/config/index.ts';
import { TOPICS, routeTopic } from '../../core/log/topics.ts';
import { TributaryError } from '../../core/errors/index.ts';
import type { FromHubChild, HubChildInput, HubChildReady, HubSample, ToHubChild } from './hub-child.ts';

export interface BenchHub {
  readonly ready: HubChildReady;
  readonly pid: number;
  readonly dataDir: string;
  /** The service REST API client (iothubowner), for provisioning through the API as a back end would. */
  readonly service: ServiceClient;
  watch(runId: string): Promise<void>;
  sample(): Promise<HubSample>;
  gc(): Promise<void>;
  /** Whether the process is still alive (a crashed hub ends the run with what was measured). */
  alive(): boolean;
  close(): Promise<void>;
}

/**
 * The consumer groups on the telemetry path: the processors (processors/runtime/run-processor.ts names them
 * `tributary-processor-{name}`) and the built-in `events` endpoint's ClickHouse connector
 * (connectors/runtime/endpoint-supervisor.ts: `tributary-connector-{type}-{endpoint}`). A group that has committed
 * nothing (its role not running) is left out of the report.
 */
export const DEFAULT_LAG_GROUPS = [
  { group: 'tributary-processor-enrich', topic: TOPICS.deviceMessages },
  { group: 'tributary-processor-router', topic: TOPICS.deviceMessagesEnriched },
  { group: 'tributary-connector-clickhouse-events', topic: routeTopic('events') },
];

export interface BenchHubOptions {
  logFile: string;
  startTimeoutMs?: number;
  lagGroups?: HubChildInput['lagGroups'];
  countUncommitted?: boolean;
  env?: NodeJS.ProcessEnv;
  /** A data dir shared with other hub processes of the run (`--split`; the caller removes it). Default: a fresh temp dir of its own. */
  dataDir?: string;
}

export async function startBenchHub(o: BenchHubOptions): Promise<BenchHub> {
  const ownDataDir = o.dataDir === undefined;
  const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'tributary-bench-')));
  const input: HubChildInput = { dataDir, lagGroups: o.lagGroups ?? DEFAULT_LAG_GROUPS, ...(o.countUncommitted ? { countUncommitted: true } : {}) };
  const logFd = openSync(o.logFile, 'a');
  // tsx resolved from here, not from the working directory, so `tributary bench` works from anywhere.
  const child: ChildProcess = fork(fileURLToPath(new URL('./hub-child.ts', import.meta.url)), [JSON.stringify(input)], {
    execArgv: ['--expose-gc', '--import', import.meta.resolve('tsx')],
    stdio: ['ignore', logFd, logFd, 'ipc'],
    // Info lines per connection would cost the hub CPU the figures then include; TRIBUTARY_LOG_LEVEL overrides.
    env: { TRIBUTARY_LOG_LEVEL: 'warn', ...(o.env ?? process.env) },
  });
  closeSync(logFd);
  let exitCode: number | null = null;
  const exited = new Promise<void>((resolve) => child.once('exit', (code) => ((exitCode = code ?? 1), resolve())));
  const pending = new Map<number, { resolve: (m: Extract<FromHubChild, { type: 'reply' }>) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  void exited.then(() => {
    for (const p of pending.values()) p.reject(new TributaryError('ServiceUnavailable', `the hub process exited (code ${exitCode}); its log is ${o.logFile}`));
    pending.clear();
  });

  const timeoutMs = o.startTimeoutMs ?? 120_000;
  const ready = await new Promise<HubChildReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TributaryError('ServiceUnavailable', `the hub did not start within ${timeoutMs / 1000} s; see ${o.logFile}`)), timeoutMs);
    child.on('message', (m: FromHubChild) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve(m);
      } else if (m.type === 'reply') {
        pending.get(m.id)?.resolve(m);
        pending.delete(m.id);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new TributaryError('ServiceUnavailable', `the hub process exited with code ${exitCode} before it was ready; its log is ${o.logFile}`));
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await exited;
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  });

  const request = (m: Omit<Extract<ToHubChild, { id: number }>, 'id'>) =>
    new Promise<Extract<FromHubChild, { type: 'reply' }>>((resolve, reject) => {
      if (exitCode !== null) return reject(new TributaryError('ServiceUnavailable', `the hub process has exited (code ${exitCode}); its log is ${o.logFile}`));
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ ...m, id } as ToHubChild);
    }).then((reply) => {
      if (reply.error) throw new Error(`hub process: ${reply.error}`);
      return reply;
    });

  const service = await ServiceClient.forConfig(loadConfig({ env: { TRIBUTARY_DATA_DIR: dataDir, TRIBUTARY_PORTS_HTTPS: String(ready.httpsPort) } }));
  return {
    ready,
    pid: ready.pid,
    dataDir,
    service,
    watch: async (runId) => void (await request({ type: 'watch', runId } as Omit<Extract<ToHubChild, { type: 'watch' }>, 'id'>)),
    sample: async () => (await request({ type: 'sample' })).sample!,
    gc: async () => void (await request({ type: 'gc' })),
    alive: () => exitCode === null,
    async close() {
      if (exitCode === null) {
        child.send({ type: 'stop' } satisfies ToHubChild);
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
