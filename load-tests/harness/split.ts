/**
 * `--split`: the hub's roles in separate processes, as production runs them (each role its own deployment, sharing
 * the work through Kafka consumer groups and the registry in PostgreSQL). One process on a 2-core machine cannot take
 * 10k msg/s over MQTT/TLS and also enrich, route and insert them; three processes show which role costs what.
 *
 * One hub child (hub-child.ts) per role group:
 * - `hub:ingest` — ingest + service: the devices connect to it, provisioning goes to its API, it hosts the arrival
 *   probe and reads consumer lag;
 * - `hub:processors` — enrich, router, twins;
 * - `hub:connectors` — the endpoint connectors (ClickHouse for `events` when a ClickHouse URL is given).
 *
 * What they share: Kafka, PostgreSQL and the schema registry come from the environment. The data dir is one temp dir
 * for all three, and the ingest process starts first, alone: it creates the topics, registers the schemas and
 * generates the TLS identity; the other two then find all of it there. That also keeps schema ids consistent when no
 * TRIBUTARY_SCHEMA_REGISTRY_URL is set (the in-process registry is a file in the data dir, read at start and written
 * only on a new registration). Every process listens for the service API and the ops endpoint on ephemeral ports.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../core/config/index.ts';
import { TributaryError } from '../../core/errors/index.ts';
import { DEFAULT_LAG_GROUPS, startBenchHub, type BenchHub } from './bench-hub.ts';
import { describeStarts, freshStart, type GroupStart, type LagGroup } from './fresh-groups.ts';

export interface RoleGroup {
  name: 'ingest' | 'processors' | 'connectors';
  /** Process name in the report. */
  label: string;
  /** TRIBUTARY_ROLES of the process. */
  roles: string[];
}

export const ROLE_GROUPS: readonly RoleGroup[] = [
  { name: 'ingest', label: 'hub:ingest', roles: ['ingest', 'service'] },
  { name: 'processors', label: 'hub:processors', roles: ['processors'] },
  { name: 'connectors', label: 'hub:connectors', roles: ['connectors'] },
];

/** Whether a run forks one hub process or one per role group. */
export interface SplitChoice {
  split: boolean;
  /** Why, in one line (the run prints it). */
  reason: string;
}

/**
 * `--split` / `--no-split` / neither, against the platform the environment gives the hub. `--split` needs Kafka and
 * PostgreSQL (the embedded log and PGlite serve one process) and sets every process's roles itself, so an explicit
 * TRIBUTARY_ROLES contradicts it. Without either flag a scenario that asks for it splits when the platform allows and
 * TRIBUTARY_ROLES is not set (a user who set it chose the roles).
 */
export function resolveSplit(o: { flag: boolean | undefined; scenarioDefault: boolean; env: NodeJS.ProcessEnv }): SplitChoice {
  const config = loadConfig({ env: o.env });
  const missing = [config.kafka.brokers ? '' : 'TRIBUTARY_KAFKA_BROKERS', config.database.url ? '' : 'TRIBUTARY_DATABASE_URL'].filter(Boolean);
  const roles = o.env.TRIBUTARY_ROLES;
  if (o.flag === true) {
    if (missing.length > 0) {
      throw new TributaryError('ArgumentInvalid',
        `--split runs ingest, processors and connectors as separate processes that share their work through Kafka and PostgreSQL; ` +
        `the embedded log and PGlite serve one process only. Set ${missing.join(' and ')} (npm run infra:up prints them), or drop --split.`);
    }
    if (roles) throw new TributaryError('ArgumentInvalid', `--split sets the roles of each hub process itself; unset TRIBUTARY_ROLES (now "${roles}") or drop --split.`);
    return { split: true, reason: '--split' };
  }
  if (o.flag === false) return { split: false, reason: '--no-split' };
  if (!o.scenarioDefault) return { split: false, reason: 'the scenario runs one hub process' };
  if (missing.length > 0) return { split: false, reason: `one hub process: the embedded platform (${missing.join(', ')} not set) serves one process` };
  if (roles) return { split: false, reason: `one hub process: TRIBUTARY_ROLES is set (${roles})` };
  return { split: true, reason: 'the default on Kafka + PostgreSQL; --no-split for one process' };
}

/** The environment of one role group's process: its roles, and the ClickHouse sink only where the connectors run. */
export function childEnv(base: NodeJS.ProcessEnv, group: RoleGroup, clickhouse: { url: string; database: string } | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, TRIBUTARY_ROLES: group.roles.join(',') };
  delete env.TRIBUTARY_CLICKHOUSE_URL;
  delete env.TRIBUTARY_CLICKHOUSE_DATABASE;
  if (group.name === 'connectors' && clickhouse) Object.assign(env, { TRIBUTARY_CLICKHOUSE_URL: clickhouse.url, TRIBUTARY_CLICKHOUSE_DATABASE: clickhouse.database });
  return env;
}

/** The telemetry groups the run's processes consume: the ClickHouse connector's only when it runs. */
export function splitLagGroups(clickhouse: boolean): LagGroup[] {
  return DEFAULT_LAG_GROUPS.filter((g) => clickhouse || !g.group.startsWith('tributary-connector-'));
}

/** The hub processes of a run: one (all roles) or three (`--split`). */
export interface HubSet {
  /** The process the devices connect to: provisioning, the arrival probe, lag samples and the memory reading. */
  readonly main: BenchHub;
  readonly processes: ReadonlyArray<{ name: string; roles: string; hub: BenchHub; logFile: string }>;
  /** Consumer groups moved to the end of their topics before the run (fresh-groups.ts); empty for one process. */
  readonly starts: GroupStart[];
  readonly notes: string[];
  close(): Promise<void>;
}

export function singleHubSet(hub: BenchHub, logFile: string, roles: string | undefined): HubSet {
  return { main: hub, processes: [{ name: 'hub', roles: roles ?? 'all', hub, logFile }], starts: [], notes: [], close: () => hub.close() };
}

export async function startSplitHubs(o: {
  /** Path prefix of the log files: `<logBase>.hub-<group>.log`. */
  logBase: string;
  env: NodeJS.ProcessEnv;
  clickhouse: { url: string; database: string } | undefined;
  /** Each process once it is ready (for the progress output). */
  onReady?: (label: string, hub: BenchHub) => void;
}): Promise<HubSet> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-split-'));
  const lagGroups = splitLagGroups(o.clickhouse !== undefined);
  const started: Array<HubSet['processes'][number]> = [];
  const closeAll = async () => {
    await Promise.allSettled(started.map((p) => p.hub.close()));
    await rm(dataDir, { recursive: true, force: true });
  };
  const start = async (group: RoleGroup) => {
    const logFile = `${o.logBase}.hub-${group.name}.log`;
    const hub = await startBenchHub({ logFile, dataDir, lagGroups, countUncommitted: true, env: childEnv(o.env, group, o.clickhouse) });
    started.push({ name: group.label, roles: group.roles.join(','), hub, logFile });
    o.onReady?.(group.label, hub);
    return hub;
  };
  try {
    const [ingestGroup, ...rest] = ROLE_GROUPS;
    const main = await start(ingestGroup!);
    // Before any processor or connector joins its group: skip what earlier runs left behind (fresh-groups.ts).
    const brokers = loadConfig({ env: o.env }).kafka.brokers ?? [];
    const starts = await freshStart(brokers, lagGroups);
    await Promise.all(rest.map((g) => start(g)));
    // Ingest first in the report, whatever order the other two became ready in.
    started.sort((a, b) => ROLE_GROUPS.findIndex((g) => g.label === a.name) - ROLE_GROUPS.findIndex((g) => g.label === b.name));
    return { main, processes: started, starts, notes: describeStarts(starts), close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
