/**
 * Runs one connector per routing endpoint (DESIGN.md §2: connectors drain `iot.route.<endpoint>`): reads the endpoints
 * from the RouteStore, starts the connector of each endpoint's type on `routeTopic(name)` with the consumer group
 * `tributary-connector-<type>-<endpoint>` (shared by every process running the connectors role, so they split the
 * partitions), and follows changes without a restart by polling the store's routing version — the same choice as the
 * router (processors/router/router.ts): the store is the source of truth, and a poll cannot miss a change.
 *
 * The built-in `events` endpoint has no row in the store; when the hub has a ClickHouse URL it is drained into
 * ClickHouse (issue #7: "the default configuration sends what events receives to iot.messages").
 *
 * An endpoint whose connector cannot start (bad settings, unreachable system, unknown type) is logged with the error
 * and tried again later with backoff; it never takes the hub or the other endpoints down.
 */
import { TributaryError, toTributaryError } from '../../core/errors/index.ts';
import { routeTopic } from '../../core/log/topics.ts';
import type { Log } from '../../core/log/types.ts';
import { componentLogger } from '../../core/logging/logger.ts';
import { counter } from '../../core/metrics/registry.ts';
import { sleep } from '../../core/runtime/backoff.ts';
import type { AvroSerde } from '../../core/serde/index.ts';
import { connectorType as registeredType, effectiveSettings, type ConnectorType, type HubContext } from './registry.ts';
import { runConnector, type RunningConnector } from './run-connector.ts';

/** The part of processors/router/routes.ts RouteStore the supervisor reads. */
export interface EndpointSource {
  version(): Promise<number>;
  listEndpoints(): Promise<Array<{ name: string; type: string; settings: Record<string, unknown> }>>;
}

export interface EndpointSupervisorOptions {
  log: Log;
  serde: AvroSerde;
  routes: EndpointSource;
  hub: HubContext;
  /** How often the routing version is checked (default 3 s). */
  pollIntervalMs?: number;
  /** First wait before an endpoint that failed to start is tried again; doubles up to maxRetryIntervalMs (default 5 s). */
  retryIntervalMs?: number;
  maxRetryIntervalMs?: number;
  /** Partitions of endpoint topics the supervisor creates when they do not exist yet (the router's default, 3). */
  endpointPartitions?: number;
  /** Type lookup; the registry filled by connectors/index.ts by default. */
  connectorType?: (type: string) => ConnectorType | undefined;
}

export interface EndpointStatus {
  endpoint: string;
  type: string;
  topic: string;
  groupId: string;
  state: 'starting' | 'running' | 'failed';
  /** Failed: why, and when the next attempt is due (ms epoch). */
  error?: { code: string; message: string };
  nextAttemptAt?: number;
}

export interface EndpointSupervisor {
  status(): EndpointStatus[];
  /** Checks the store now (tests; the poll does it every pollIntervalMs). */
  reconcile(): Promise<void>;
  stop(): Promise<void>;
}

interface Desired {
  endpoint: string;
  type: string;
  settings: Record<string, unknown>;
  /** Type + settings, key-sorted: a change restarts the connector. */
  fingerprint: string;
}

interface Entry {
  desired: Desired;
  state: EndpointStatus['state'];
  running?: RunningConnector;
  starting?: Promise<void>;
  error?: TributaryError;
  attempts: number;
  nextAttemptAt: number;
}

export const BUILT_IN_ENDPOINT = 'events';
const startsTotal = counter('tributary_connector_endpoint_starts_total', 'Attempts to start an endpoint connector, by type and outcome (started, failed).', ['type', 'outcome']);

export function connectorGroupId(type: string, endpoint: string): string {
  return `tributary-connector-${type}-${endpoint}`;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export async function startEndpointSupervisor(options: EndpointSupervisorOptions): Promise<EndpointSupervisor> {
  const logger = componentLogger('endpoint-supervisor');
  const lookup = options.connectorType ?? registeredType;
  const pollIntervalMs = options.pollIntervalMs ?? 3000;
  const retryIntervalMs = options.retryIntervalMs ?? 5000;
  const maxRetryIntervalMs = options.maxRetryIntervalMs ?? 60_000;
  const entries = new Map<string, Entry>();
  const stopping = new AbortController();
  let version: number | undefined;
  let desired = new Map<string, Desired>();

  function builtIn(): Desired[] {
    if (!options.hub.clickhouse?.url) return [];
    return [{ endpoint: BUILT_IN_ENDPOINT, type: 'clickhouse', settings: {}, fingerprint: canonical({ type: 'clickhouse', settings: {} }) }];
  }

  async function loadDesired(): Promise<void> {
    const current = await options.routes.version();
    if (current === version) return;
    const endpoints = await options.routes.listEndpoints();
    const next = new Map<string, Desired>();
    for (const d of builtIn()) next.set(d.endpoint, d);
    for (const e of endpoints) {
      if (e.name === BUILT_IN_ENDPOINT) continue; // the store refuses it; belt and braces
      next.set(e.name, { endpoint: e.name, type: e.type, settings: e.settings, fingerprint: canonical({ type: e.type, settings: e.settings }) });
    }
    desired = next;
    version = current;
    logger.info({ version, endpoints: [...next.keys()] }, 'endpoints loaded');
  }

  async function start(entry: Entry): Promise<void> {
    const { endpoint, type, settings } = entry.desired;
    const groupId = connectorGroupId(type, endpoint);
    entry.state = 'starting';
    try {
      const connector = lookup(type);
      if (!connector) throw new TributaryError('ConfigInvalid', `endpoint ${endpoint} has type ${type}, for which no connector is registered (known: connectors/index.ts)`);
      const topic = routeTopic(endpoint);
      await options.log.createTopics([{ name: topic, partitions: options.endpointPartitions ?? 3 }]);
      const running = await runConnector(connector.definition, {
        log: options.log,
        serde: options.serde,
        topics: [topic],
        groupId,
        metricsLabel: endpoint,
        config: effectiveSettings(connector, { name: endpoint, settings }, options.hub),
        logger: componentLogger('connector', { connector: type, endpoint }),
      });
      if (stopping.signal.aborted || entries.get(endpoint) !== entry) {
        await running.stop();
        return;
      }
      entry.running = running;
      entry.state = 'running';
      entry.error = undefined;
      entry.attempts = 0;
      startsTotal.inc({ type, outcome: 'started' });
      logger.info({ endpoint, type, topic, groupId }, 'endpoint connector started');
    } catch (err) {
      // Uncoded errors come from connect(): the external system did not answer.
      const error = toTributaryError(err, 'SinkWriteFailed');
      entry.state = 'failed';
      entry.error = error;
      entry.attempts++;
      const delay = Math.min(maxRetryIntervalMs, retryIntervalMs * 2 ** Math.min(entry.attempts - 1, 20));
      entry.nextAttemptAt = Date.now() + delay;
      startsTotal.inc({ type, outcome: 'failed' });
      // Settings are not logged: they may hold passwords.
      logger.error({ endpoint, type, err: error, code: error.code, retryInMs: delay }, 'endpoint connector failed to start; will retry');
    }
  }

  async function stopEntry(entry: Entry): Promise<void> {
    await entry.starting;
    const running = entry.running;
    entry.running = undefined;
    if (!running) return;
    try {
      await running.stop();
      logger.info({ endpoint: entry.desired.endpoint, type: entry.desired.type }, 'endpoint connector stopped');
    } catch (err) {
      logger.warn({ endpoint: entry.desired.endpoint, err }, 'endpoint connector did not stop cleanly');
    }
  }

  let ticking: Promise<void> | undefined;
  async function tick(): Promise<void> {
    try {
      await loadDesired();
    } catch (err) {
      // The store is down: keep running what runs, try again next poll.
      logger.warn({ err }, 'cannot read endpoints; keeping the running connectors');
    }
    const stops: Promise<void>[] = [];
    for (const [name, entry] of entries) {
      const want = desired.get(name);
      if (want && want.fingerprint === entry.desired.fingerprint) continue;
      entries.delete(name);
      stops.push(stopEntry(entry));
    }
    await Promise.all(stops);
    const now = Date.now();
    for (const [name, want] of desired) {
      let entry = entries.get(name);
      if (!entry) {
        entry = { desired: want, state: 'starting', attempts: 0, nextAttemptAt: 0 };
        entries.set(name, entry);
      }
      if (entry.state === 'running' || entry.starting || (entry.state === 'failed' && entry.nextAttemptAt > now)) continue;
      const e = entry;
      // Started side by side: one slow or hanging system does not hold the others back.
      e.starting = start(e).finally(() => (e.starting = undefined));
    }
  }

  function reconcile(): Promise<void> {
    ticking ??= tick().finally(() => (ticking = undefined));
    return ticking;
  }

  await reconcile();
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      await sleep(pollIntervalMs, stopping.signal);
      if (stopping.signal.aborted) break;
      await reconcile().catch((err: unknown) => logger.error({ err }, 'endpoint reconcile failed'));
    }
  })();

  return {
    status() {
      return [...entries.values()].map((e) => ({
        endpoint: e.desired.endpoint,
        type: e.desired.type,
        topic: routeTopic(e.desired.endpoint),
        groupId: connectorGroupId(e.desired.type, e.desired.endpoint),
        state: e.state,
        ...(e.error ? { error: { code: e.error.code, message: e.error.message } } : {}),
        ...(e.state === 'failed' ? { nextAttemptAt: e.nextAttemptAt } : {}),
      }));
    },
    reconcile,
    async stop() {
      stopping.abort();
      await loop;
      await ticking;
      const all = [...entries.values()];
      entries.clear();
      await Promise.all(all.map(stopEntry));
    },
  };
}
