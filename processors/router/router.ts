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
 * Conditions are compiled once per route table to json-rules-engine rules (query/compile.ts) and evaluated by
 * CompiledCondition, which runs the rule JSON as closures (the Engine costs 4-8x more per record, see
 * router-process.bench.ts); `evaluator: 'json-rules-engine'` runs the same rules through the Engine instead.
 *
 * Endpoint-scoped enrichments (enrich's `tributary-enrichment-endpoints` header) are applied here, on delivery, as IoT
 * Hub applies enrichments per endpoint: a delivery to an endpoint whose enrichment set differs from the record's carries
 * a re-encoded message with only its enrichments (encoded once per distinct set per record); the header itself is not
 * forwarded. Metrics are counted when the runtime has committed the batch (onCommitted), so a replay counts once.
 *
 * Routes reload without restart by polling the RouteStore's version at most every `reloadIntervalMs`, on the record
 * path (no timer). Polling rather than a change topic: the store is the source of truth, one indexed single-row read
 * every few seconds costs nothing, and it cannot miss a change (a router that was down, a change event lost between
 * the store commit and the produce) — it needs no new topic or schema either.
 */
import { Type } from '@sinclair/typebox';
import { TributaryError, toTributaryError } from '../../core/errors/index.ts';
import type { Log, LogRecord } from '../../core/log/types.ts';
import { TOPICS, routeTopic } from '../../core/log/topics.ts';
import { counter } from '../../core/metrics/registry.ts';
import { forwardedRecord } from '../../core/runtime/forwarded.ts';
import type { AvroSerde, EnrichedDeviceMessage } from '../../core/serde/index.ts';
import { ENRICHMENT_ENDPOINTS_HEADER, enrichmentScopes, scopeEnrichments } from '../enrich/enrichments.ts';
import { defineProcessor, type OutputRecord } from '../runtime/define-processor.ts';
import { SOURCE_FACTS } from './facts.ts';
import { compileQuery } from './query/compile.ts';
import { EngineCondition } from './query/engine-condition.ts';
import { CompiledCondition, type RouteCondition, type RouteFacts } from './query/evaluate.ts';
import { FALLBACK_ROUTE, ROUTE_SOURCES, type RouteSource, type RouteStore, type RoutingSnapshot } from './routes.ts';

const matchedTotal = counter('tributary_router_route_matched_total', 'Records whose route condition was true, by route.', ['route']);
const deliveredTotal = counter('tributary_router_route_delivered_total', 'Records forwarded to an endpoint topic, by route and endpoint (once per endpoint per record).', ['route', 'endpoint']);
const deadLetteredTotal = counter('tributary_router_route_dead_lettered_total', 'Records dead-lettered because a route condition failed on them, by route.', ['route']);

export const EVALUATORS = ['compiled', 'json-rules-engine'] as const;
export type Evaluator = (typeof EVALUATORS)[number];

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
    evaluator: Type.Union(EVALUATORS.map((e) => Type.Literal(e)), {
      default: 'compiled',
      description: "How route rules are evaluated: 'compiled' (the rule JSON as closures, proven equal to json-rules-engine by tests) or 'json-rules-engine' (its Engine; several times slower).",
    }),
  },
  { additionalProperties: false },
);

interface LoadedRoute {
  name: string;
  endpointNames: string[];
  condition: RouteCondition | TributaryError;
}
interface Loaded {
  version: number;
  bySource: Map<RouteSource, LoadedRoute[]>;
  fallback: LoadedRoute | undefined;
}

function load(route: { name: string; condition: string; endpointNames: string[] }, evaluator: Evaluator): LoadedRoute {
  let condition: RouteCondition | TributaryError;
  try {
    const rule = compileQuery(route.condition);
    condition = evaluator === 'compiled' ? new CompiledCondition(rule) : new EngineCondition(rule);
  } catch (err) {
    // Saved conditions were compiled when stored; one that no longer does fails records loudly rather than silently
    // routing nothing.
    condition = toTributaryError(err, 'ArgumentInvalid');
  }
  return { name: route.name, endpointNames: route.endpointNames, condition };
}

function compileSnapshot(snapshot: RoutingSnapshot, evaluator: Evaluator): Loaded {
  const bySource = new Map<RouteSource, LoadedRoute[]>();
  for (const route of snapshot.routes) {
    if (!route.isEnabled) continue;
    const list = bySource.get(route.source) ?? [];
    list.push(load(route, evaluator));
    bySource.set(route.source, list);
  }
  const fallback = snapshot.fallback.isEnabled ? load({ name: FALLBACK_ROUTE, ...snapshot.fallback }, evaluator) : undefined;
  return { version: snapshot.version, bySource, fallback };
}

/** What one record did, counted into the metrics once its batch is committed. */
interface Tally {
  matched: string[];
  delivered: Array<[route: string, endpoint: string]>;
  deadLettered?: string;
}

function routeFailed(route: LoadedRoute, err: unknown, tally: Tally): TributaryError {
  const cause = toTributaryError(err, 'ProcessingFailed');
  tally.deadLettered = route.name;
  return new TributaryError(cause.code, `route ${route.name}: ${cause.message}`, { cause: err, retriable: cause.retriable, details: { route: route.name } });
}

/** Sync for the compiled evaluator (no promise per route and record), a promise for the Engine. */
function evaluate(route: LoadedRoute, facts: RouteFacts, tally: Tally): boolean | Promise<boolean> {
  if (route.condition instanceof TributaryError) throw routeFailed(route, route.condition, tally);
  let result: boolean | Promise<boolean>;
  try {
    result = route.condition.matches(facts);
  } catch (err) {
    throw routeFailed(route, err, tally);
  }
  return typeof result === 'boolean' ? result : result.catch((err: unknown) => Promise.reject(routeFailed(route, err, tally)));
}

/**
 * Per partition, the tallies of records processed but not yet committed, in offset order. A partition's records are
 * processed in offset order and a replay starts over at some offset and goes forward, so a list per partition is
 * enough: a record being processed drops its own tally and any later one (from before the replay), a tally is pushed
 * at the end, and a commit counts and drops the front below its offset. (A map by offset cost ~1 µs per record.)
 */
class PendingTallies {
  /** topic → partition → tallies in offset order (nested maps: no key string built per record). */
  private readonly byTopic = new Map<string, Map<number, { offset: number; tally: Tally }[]>>();

  private partition(topic: string, partition: number): { offset: number; tally: Tally }[] {
    let partitions = this.byTopic.get(topic);
    if (!partitions) this.byTopic.set(topic, (partitions = new Map()));
    let tallies = partitions.get(partition);
    if (!tallies) partitions.set(partition, (tallies = []));
    return tallies;
  }

  /** The record is being processed (again, on a replay): what was tallied for it, or after it, no longer stands. */
  begin(record: LogRecord): void {
    const tallies = this.partition(record.topic, record.partition);
    while (tallies.length > 0 && tallies[tallies.length - 1]!.offset >= record.offset) tallies.pop();
  }

  set(record: LogRecord, tally: Tally): void {
    this.partition(record.topic, record.partition).push({ offset: record.offset, tally });
  }

  commit(topic: string, partition: number, nextOffset: number): void {
    const tallies = this.byTopic.get(topic)?.get(partition);
    if (!tallies) return;
    let done = 0;
    while (done < tallies.length && tallies[done]!.offset < nextOffset) done++;
    if (done === 0) return;
    const matched = new Map<string, number>();
    const delivered = new Map<string, { route: string; endpoint: string; n: number }>();
    const dead = new Map<string, number>();
    for (const { tally } of tallies.splice(0, done)) {
      for (const route of tally.matched) matched.set(route, (matched.get(route) ?? 0) + 1);
      for (const [route, endpoint] of tally.delivered) {
        const key = `${route}\u0000${endpoint}`;
        const entry = delivered.get(key) ?? { route, endpoint, n: 0 };
        entry.n++;
        delivered.set(key, entry);
      }
      if (tally.deadLettered) dead.set(tally.deadLettered, (dead.get(tally.deadLettered) ?? 0) + 1);
    }
    for (const [route, n] of matched) matchedTotal.inc({ route }, n);
    for (const { route, endpoint, n } of delivered.values()) deliveredTotal.inc({ route, endpoint }, n);
    for (const [route, n] of dead) deadLetteredTotal.inc({ route }, n);
  }
}

/**
 * The record a delivery to `endpoint` forwards: the input as is, or — when enrich scoped some enrichments to other
 * endpoints — the input without the scope header, its message re-encoded with only this endpoint's enrichments when
 * they differ from the record's. `encoded` caches values per enrichment set.
 */
async function recordForEndpoint(
  record: LogRecord,
  message: EnrichedDeviceMessage | undefined,
  scoped: { scopes: Record<string, string[]>; headers: LogRecord['headers'] } | undefined,
  endpoint: string,
  encoded: Map<string, Buffer>,
  serde: AvroSerde,
): Promise<LogRecord> {
  if (!scoped || !message) return record;
  const { scopes, headers } = scoped;
  const all = message.enrichments ?? {};
  const kept = scopeEnrichments(all, scopes, endpoint);
  const names = Object.keys(kept);
  if (names.length === Object.keys(all).length) return { ...record, headers };
  const key = names.join('\u0000');
  let value = encoded.get(key);
  if (!value) {
    // Encoded with the enriched message's schema whatever the input topic is called (bench and test inputs differ).
    const enriched = { ...message, enrichments: kept };
    value = serde.encodeSync(TOPICS.deviceMessagesEnriched, enriched) ?? (await serde.encode(TOPICS.deviceMessagesEnriched, enriched));
    encoded.set(key, value);
  }
  return { ...record, value, headers };
}

/**
 * The scopes of enrich's header, parsed once per distinct header value: enrich writes the same value on every record
 * while its configuration stands, and JSON.parse per record showed in the router's profile.
 */
function scopesReader(): (headers: LogRecord['headers']) => { scopes: Record<string, string[]>; headers: LogRecord['headers'] } | undefined {
  let lastRaw: Buffer | undefined;
  let lastScopes: Record<string, string[]> | undefined;
  return (headers) => {
    const raw = headers[ENRICHMENT_ENDPOINTS_HEADER];
    if (!raw) return undefined;
    if (!lastRaw || !raw.equals(lastRaw)) {
      lastScopes = enrichmentScopes(headers);
      lastRaw = raw;
    }
    if (!lastScopes) return undefined;
    const { [ENRICHMENT_ENDPOINTS_HEADER]: _applied, ...rest } = headers;
    return { scopes: lastScopes, headers: rest };
  };
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
      const pending = new PendingTallies();
      const readScopes = scopesReader();
      // Endpoint → topic, validated once per endpoint instead of a regular expression per delivery.
      const topicOf = new Map<string, string>();
      const routeTopicOf = (endpoint: string): string => {
        let topic = topicOf.get(endpoint);
        if (topic === undefined) topicOf.set(endpoint, (topic = routeTopic(endpoint)));
        return topic;
      };

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
          loaded = compileSnapshot(snapshot, config.evaluator);
          logger.info({ version: loaded.version, routes: snapshot.routes.length, fallback: snapshot.fallback.isEnabled, evaluator: config.evaluator }, 'routes loaded');
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
          const tally: Tally = { matched: [], delivered: [] };
          pending.begin(record); // a replay starts from nothing
          try {
            // decodeSync once the reader is known: no promise per record.
            const decoded = serde.decodeSync(record.value, record.topic) ?? (await serde.decode(record.value, record.topic));
            const facts = SOURCE_FACTS[source](decoded);

            const selected = new Map<string, string>(); // endpoint → first route (by name) that selected it
            const matched: string[] = [];
            for (const route of routing.bySource.get(source) ?? []) {
              let match = evaluate(route, facts, tally);
              if (typeof match !== 'boolean') match = await match;
              if (!match) continue;
              matched.push(route.name);
              for (const endpoint of route.endpointNames) if (!selected.has(endpoint)) selected.set(endpoint, route.name);
            }
            // IoT Hub: the fallback takes device messages that matched no route; other sources have no fallback.
            if (matched.length === 0 && source === 'DeviceMessages' && routing.fallback) {
              let match = evaluate(routing.fallback, facts, tally);
              if (typeof match !== 'boolean') match = await match;
              if (match) {
                matched.push(FALLBACK_ROUTE);
                for (const endpoint of routing.fallback.endpointNames) selected.set(endpoint, FALLBACK_ROUTE);
              }
            }

            // Tallied once every route was evaluated: a record another route fails on is dead-lettered, not matched.
            tally.matched = matched;
            const message = source === 'DeviceMessages' ? (decoded as unknown as EnrichedDeviceMessage) : undefined;
            const scoped = message ? readScopes(record.headers) : undefined;
            const encoded = new Map<string, Buffer>();
            const outputs: OutputRecord[] = [];
            for (const [endpoint, route] of selected) {
              const topic = routeTopicOf(endpoint);
              const forwarded = forwardedRecord(await recordForEndpoint(record, message, scoped, endpoint, encoded, serde), { route, endpoint });
              outputs.push({ topic, key: record.key, value: serde.encodeSync(topic, forwarded) ?? (await serde.encode(topic, forwarded)) });
              tally.delivered.push([route, endpoint]);
            }
            return outputs;
          } catch (err) {
            tally.matched = [];
            tally.delivered = [];
            throw err;
          } finally {
            if (tally.matched.length > 0 || tally.deadLettered) pending.set(record, tally);
          }
        },
        onCommitted({ topic, partition, nextOffset }) {
          pending.commit(topic, partition, nextOffset);
        },
      };
    },
  });
}
