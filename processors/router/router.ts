/**
 * router — IoT Hub's message routing on the log (DESIGN.md §2): for each record of a route source it evaluates the
 * enabled routes of that source and forwards the record, wrapped in a ForwardedRecord naming the route and endpoint,
 * to `iot.route.<endpoint>` for every endpoint some route selected. An endpoint selected by several routes gets the
 * record once (credited to the first matching route by name). Device messages no enabled route matched go to the
 * fallback route's endpoint (`events` by default) when the fallback is enabled — only device messages, as in IoT Hub.
 *
 * Outputs keep the input key (the device id), so per-device order holds on every endpoint topic. A route whose
 * condition throws (a body labelled JSON that is not, a stored condition that no longer compiles) fails the record:
 * the runtime dead-letters it with the code and the partition goes on.
 *
 * Routes reload without restart by polling the RouteStore's version at most every `reloadIntervalMs`, on the record
 * path (no timer). Polling rather than a change topic: the store is the source of truth, one indexed single-row read
 * every few seconds costs nothing, and it cannot miss a change (a router that was down, a change event lost between
 * the store commit and the produce) — it needs no new topic or schema either.
 */
import { Type } from '@sinclair/typebox';
import { TributaryError, toTributaryError } from '../../core/errors/index.ts';
import type { Log } from '../../core/log/types.ts';
import { TOPICS, routeTopic } from '../../core/log/topics.ts';
import { counter } from '../../core/metrics/registry.ts';
import { forwardedRecord } from '../../core/runtime/forwarded.ts';
import { defineProcessor, type OutputRecord } from '../runtime/define-processor.ts';
import { SOURCE_FACTS } from './facts.ts';
import { compileQuery } from './query/compile.ts';
import { CompiledCondition, type RouteFacts } from './query/evaluate.ts';
import { FALLBACK_ROUTE, ROUTE_SOURCES, type RouteSource, type RouteStore, type RoutingSnapshot } from './routes.ts';

const matchedTotal = counter('tributary_router_route_matched_total', 'Records whose route condition was true, by route.', ['route']);
const deliveredTotal = counter('tributary_router_route_delivered_total', 'Records forwarded to an endpoint topic, by route and endpoint (once per endpoint per record).', ['route', 'endpoint']);
const deadLetteredTotal = counter('tributary_router_route_dead_lettered_total', 'Records dead-lettered because a route condition failed on them, by route.', ['route']);

const ConfigSchema = Type.Object(
  {
    topics: Type.Object(
      {
        DeviceMessages: Type.String({ default: TOPICS.deviceMessagesEnriched }),
        TwinChangeEvents: Type.String({ default: TOPICS.twinChanges }),
        DeviceLifecycleEvents: Type.String({ default: TOPICS.deviceLifecycle }),
        DeviceConnectionStateEvents: Type.String({ default: TOPICS.deviceConnections }),
      },
      { default: {}, additionalProperties: false, description: 'Input topic of each route source.' },
    ),
    sources: Type.Array(Type.Union(ROUTE_SOURCES.map((s) => Type.Literal(s))), { default: [...ROUTE_SOURCES], minItems: 1, uniqueItems: true, description: 'Route sources this router consumes.' }),
    reloadIntervalMs: Type.Integer({ minimum: 0, default: 2000, description: 'How often, at most, the route table version is checked (0: before every record).' }),
    endpointPartitions: Type.Integer({ minimum: 1, default: 3, description: 'Partitions of endpoint topics the router creates when it is given the log.' }),
  },
  { additionalProperties: false },
);

interface LoadedRoute {
  name: string;
  endpointNames: string[];
  condition: CompiledCondition | TributaryError;
}
interface Loaded {
  version: number;
  bySource: Map<RouteSource, LoadedRoute[]>;
  fallback: LoadedRoute | undefined;
}

function load(route: { name: string; condition: string; endpointNames: string[] }): LoadedRoute {
  let condition: CompiledCondition | TributaryError;
  try {
    condition = new CompiledCondition(compileQuery(route.condition));
  } catch (err) {
    // Saved conditions were compiled when stored; one that no longer does fails records loudly rather than silently
    // routing nothing.
    condition = toTributaryError(err, 'ArgumentInvalid');
  }
  return { name: route.name, endpointNames: route.endpointNames, condition };
}

function compileSnapshot(snapshot: RoutingSnapshot): Loaded {
  const bySource = new Map<RouteSource, LoadedRoute[]>();
  for (const route of snapshot.routes) {
    if (!route.isEnabled) continue;
    const list = bySource.get(route.source) ?? [];
    list.push(load(route));
    bySource.set(route.source, list);
  }
  const fallback = snapshot.fallback.isEnabled ? load({ name: FALLBACK_ROUTE, ...snapshot.fallback }) : undefined;
  return { version: snapshot.version, bySource, fallback };
}

async function evaluate(route: LoadedRoute, facts: RouteFacts): Promise<boolean> {
  try {
    if (route.condition instanceof TributaryError) throw route.condition;
    return await route.condition.matches(facts);
  } catch (err) {
    const cause = toTributaryError(err, 'ProcessingFailed');
    deadLetteredTotal.inc({ route: route.name });
    throw new TributaryError(cause.code, `route ${route.name}: ${cause.message}`, { cause: err, retriable: cause.retriable, details: { route: route.name } });
  }
}

/**
 * The router processor, bound to the store its routes live in. `log` is optional: given it, the router creates the
 * topics of new endpoints when it loads them (auto topic creation is off on the hub's Kafka).
 */
export function createRouter(deps: { routes: RouteStore; log?: Log }) {
  return defineProcessor({
    name: 'router',
    description: "IoT Hub message routing: evaluates routes (IoT Hub routing queries) and forwards records to endpoint topics iot.route.<endpoint>, with IoT Hub's fallback route.",
    configSchema: ConfigSchema,
    inputTopics: (config) => config.sources.map((s) => config.topics[s]),
    create(config, { serde, logger }) {
      const sourceOf = new Map(config.sources.map((s) => [config.topics[s], s] as const));
      let loaded: Loaded | undefined;
      let checkedAt = -Infinity;
      const knownTopics = new Set<string>();

      async function reload(): Promise<Loaded> {
        const now = performance.now();
        if (loaded && now - checkedAt < config.reloadIntervalMs) return loaded;
        try {
          checkedAt = now;
          if (loaded && (await deps.routes.version()) === loaded.version) return loaded;
          const snapshot = await deps.routes.snapshot();
          if (deps.log) {
            const topics = [...new Set(['events', ...snapshot.endpoints.map((e) => e.name)].map(routeTopic))].filter((t) => !knownTopics.has(t));
            if (topics.length > 0) await deps.log.createTopics(topics.map((name) => ({ name, partitions: config.endpointPartitions })));
            for (const t of topics) knownTopics.add(t);
          }
          loaded = compileSnapshot(snapshot);
          logger.info({ version: loaded.version, routes: snapshot.routes.length, fallback: snapshot.fallback.isEnabled }, 'routes loaded');
          return loaded;
        } catch (err) {
          const error = toTributaryError(err, 'StoreUnavailable');
          // With routes in hand, keep routing on them; without any, the batch must wait (a retriable error replays it).
          if (loaded) {
            logger.warn({ err: error }, 'route reload failed; routing on the routes loaded before');
            return loaded;
          }
          throw new TributaryError('StoreUnavailable', `router cannot load its routes: ${error.message}`, { cause: err, retriable: true });
        }
      }

      return {
        async process(record) {
          const routing = await reload();
          const source = sourceOf.get(record.topic);
          if (!source) throw new TributaryError('ConfigInvalid', `router got a record from ${record.topic}, which is no configured source topic`);
          if (!record.value) throw new TributaryError('ArgumentNull', `record at ${record.topic}/${record.partition}@${record.offset} has no value (a tombstone cannot be routed)`);
          const facts = SOURCE_FACTS[source](await serde.decode(record.value, record.topic));

          const selected = new Map<string, string>(); // endpoint → first route (by name) that selected it
          const matched: string[] = [];
          for (const route of routing.bySource.get(source) ?? []) {
            if (!(await evaluate(route, facts))) continue;
            matched.push(route.name);
            for (const endpoint of route.endpointNames) if (!selected.has(endpoint)) selected.set(endpoint, route.name);
          }
          // IoT Hub: the fallback takes device messages that matched no route; other sources have no fallback.
          if (matched.length === 0 && source === 'DeviceMessages' && routing.fallback && (await evaluate(routing.fallback, facts))) {
            matched.push(FALLBACK_ROUTE);
            for (const endpoint of routing.fallback.endpointNames) selected.set(endpoint, FALLBACK_ROUTE);
          }

          // Counted once every route was evaluated: a record another route fails on is dead-lettered, not matched.
          for (const route of matched) matchedTotal.inc({ route });
          const outputs: OutputRecord[] = [];
          for (const [endpoint, route] of selected) {
            const topic = routeTopic(endpoint);
            outputs.push({ topic, key: record.key, value: await serde.encode(topic, forwardedRecord(record, { route, endpoint })) });
            deliveredTotal.inc({ route, endpoint });
          }
          return outputs;
        },
      };
    },
  });
}
