/**
 * enrich (DESIGN.md §2): reads D2C messages, looks up the sender (identity status and twin, through a bounded LRU/TTL
 * cache that registry and twin events invalidate), drops traffic of unknown or disabled identities with a dead letter
 * that says why, and writes EnrichedDeviceMessage — the message, the hub's enrichments and the twin the router's
 * `$twin.*` queries read — to `iot.device.messages.enriched` (setting `outputTopic`), keyed by device id so per-device order survives.
 *
 * The processor needs the store (and optionally the registry and the log) besides its config, so it is built by a
 * factory: `runProcessor(enrichProcessor({ store, registry, log }), { log, serde, config: { hubName, enrichments } })`.
 */
import { Type } from '@sinclair/typebox';
import { TributaryError } from '../../core/errors/index.ts';
import { TOPICS } from '../../core/log/topics.ts';
import type { Headers, Log } from '../../core/log/types.ts';
import { counter } from '../../core/metrics/registry.ts';
import type { DeviceRegistry } from '../../core/registry/index.ts';
import { readSchemaId, type DeviceMessage, type EnrichedDeviceMessage } from '../../core/serde/index.ts';
import type { Queryable } from '../../core/store/types.ts';
import { defineProcessor, type ProcessorDefinition } from '../runtime/define-processor.ts';
import { CacheInvalidation } from './cache-invalidation.ts';
import { DeviceCache } from './device-cache.ts';
import { lookupDevice, type DeviceLookup } from './device-lookup.ts';
import { planSplice, type SenderFields, type SplicePlan } from './splice.ts';
import { ENRICHMENT_ENDPOINTS_HEADER, EnrichmentSchema, MAX_ENRICHMENTS, applyEnrichments, compileEnrichments, endpointScopeHeader } from './enrichments.ts';

export const EnrichConfigSchema = Type.Object(
  {
    hubName: Type.String({ minLength: 1, description: 'The hub\'s name: the value of `$iothubname`.' }),
    enrichments: Type.Array(EnrichmentSchema, { maxItems: MAX_ENRICHMENTS, default: [], description: 'IoT Hub message enrichments (at most 10, as in IoT Hub).' }),
    cacheMaxEntries: Type.Integer({ minimum: 1, default: 100_000, description: 'Devices (and modules) kept in the lookup cache.' }),
    cacheTtlMs: Type.Integer({ minimum: 0, default: 60_000, description: 'How long a lookup is trusted without an invalidating event; bounds staleness when one is lost.' }),
    inputTopic: Type.String({ default: TOPICS.deviceMessages, description: 'Topic of DeviceMessage records.' }),
    outputTopic: Type.String({
      default: TOPICS.deviceMessagesEnriched,
      description: 'Topic enriched messages are written to. Values always use the iot.device.messages.enriched-value schema (its id is in each record), whatever the topic is called.',
    }),
    invalidationTopics: Type.Array(Type.String(), {
      default: [TOPICS.deviceLifecycle, TOPICS.twinChanges],
      description: 'Topics keyed by device id whose records invalidate the cache (read only when a log is given to the factory).',
    }),
  },
  { additionalProperties: false },
);

export interface EnrichDependencies {
  /** Where devices and twins are read (the Store, or a transaction-free Queryable over it). */
  store: Queryable;
  /** Given, its in-process `onChange` invalidates the cache at once (changes made by this process). */
  registry?: Pick<DeviceRegistry, 'onChange'>;
  /** Given, `invalidationTopics` are consumed (changes made by other processes). */
  log?: Log;
  /** Names this process's invalidation consumer group (default: a fresh id per start); use the node id in production. */
  instanceId?: string;
  /** Milliseconds clock for the cache TTL; injectable for tests. */
  now?: () => number;
}

/** Per cached lookup: the enrichments and twin JSON it gives every message, and their encodings per splice plan. */
interface Added {
  enrichments: Record<string, string>;
  twin: string | null;
  inserts: Map<SplicePlan, Buffer>;
}

const dropped = counter('tributary_enrich_dropped_total', 'Messages enrich dropped (and dead-lettered), by reason.', ['reason']);
const lookups = counter('tributary_enrich_lookups_total', 'Device lookups by cache result (hit, miss).', ['result']);

export function enrichProcessor(deps: EnrichDependencies): ProcessorDefinition<typeof EnrichConfigSchema> {
  return defineProcessor({
    name: 'enrich',
    description: 'Drops traffic of unknown or disabled devices and adds the hub\'s message enrichments and the sender\'s twin.',
    configSchema: EnrichConfigSchema,
    inputTopics: (config) => [config.inputTopic],
    async create(config, { serde, logger }) {
      const enrichments = compileEnrichments(config.enrichments);
      const scopeHeader = endpointScopeHeader(enrichments);
      const cache = new DeviceCache<DeviceLookup>({ maxEntries: config.cacheMaxEntries, ttlMs: config.cacheTtlMs, ...(deps.now ? { now: deps.now } : {}) });
      const unsubscribe = deps.registry?.onChange((change) => cache.invalidateDevice(change.deviceId));
      const invalidation = deps.log
        ? new CacheInvalidation({ log: deps.log, topics: config.invalidationTopics, logger, invalidate: (id) => cache.invalidateDevice(id), ...(deps.instanceId ? { instanceId: deps.instanceId } : {}) })
        : undefined;
      try {
        await invalidation?.start();
      } catch (err) {
        unsubscribe?.();
        throw err;
      }

      // Spliced path (splice.ts): plans per input schema id, made for one output writer (a new one after serde.refresh).
      const plans = new Map<number, SplicePlan | null>();
      let plansFor: object | undefined;
      async function planFor(value: Buffer): Promise<SplicePlan | null> {
        let writer = serde.writerOf(TOPICS.deviceMessagesEnriched);
        if (!writer) {
          await serde.prepare(TOPICS.deviceMessagesEnriched);
          writer = serde.writerOf(TOPICS.deviceMessagesEnriched)!;
        }
        if (writer !== plansFor) {
          plans.clear();
          plansFor = writer;
        }
        const id = readSchemaId(value);
        let plan = plans.get(id);
        if (plan === undefined) {
          plan = planSplice(await serde.schemaOfId(id), writer) ?? null;
          plans.set(id, plan);
          logger.info({ schemaId: id, spliced: plan !== null }, plan ? 'device messages of this schema are enriched by splicing bytes' : 'device messages of this schema are decoded and re-encoded');
        }
        return plan;
      }
      function cachedPlan(value: Buffer): SplicePlan | null | undefined {
        return serde.writerOf(TOPICS.deviceMessagesEnriched) === plansFor && plansFor !== undefined ? plans.get(readSchemaId(value)) : undefined;
      }
      // What a lookup adds to every message of its sender, computed once per cached lookup rather than per message.
      const added = new WeakMap<DeviceLookup, Added>();
      function addedFor(found: DeviceLookup & { kind: 'found' }): Added {
        let a = added.get(found);
        if (!a) {
          a = { enrichments: applyEnrichments(enrichments, config.hubName, found.twin), twin: found.twin ? JSON.stringify(found.twin) : null, inserts: new Map() };
          added.set(found, a);
        }
        return a;
      }
      const outputHeaders = (headers: Headers): Record<string, Buffer | string> => (scopeHeader ? { ...headers, [ENRICHMENT_ENDPOINTS_HEADER]: scopeHeader } : headers);

      return {
        async process(record, ctx) {
          const value = record.value;
          if (!value) throw new TributaryError('ArgumentNull', 'record has no value (a tombstone is not a device message)');
          let plan = cachedPlan(value); // null: this schema has no plan
          if (plan === undefined) plan = await planFor(value);
          const spliced = plan?.read(value);
          const message = spliced ? undefined : (serde.decodeSync<DeviceMessage>(value, record.topic) ?? (await serde.decode<DeviceMessage>(value, record.topic)));
          const sender: SenderFields = spliced?.fields ?? message!;
          const { connectionDeviceId: deviceId, connectionModuleId: moduleId } = sender;
          const { value: found, hit } = await cache.getOrLoad(deviceId, moduleId, () => lookupDevice(deps.store, deviceId, moduleId));
          lookups.inc({ result: hit ? 'hit' : 'miss' });

          if (found.kind === 'unknownDevice') {
            dropped.inc({ reason: 'unknown_device' });
            throw new TributaryError('DeviceNotFound', `message ${sender.messageId ?? '(no id)'} dropped: device ${deviceId} is not registered (deleted, or never created); register it to accept its traffic`, { details: { deviceId } });
          }
          if (found.kind === 'unknownModule') {
            dropped.inc({ reason: 'unknown_module' });
            throw new TributaryError('ModuleNotFound', `message ${sender.messageId ?? '(no id)'} dropped: module ${moduleId ?? ''} is not registered on device ${deviceId}`, { details: { deviceId, moduleId } });
          }
          if (found.status === 'disabled') {
            dropped.inc({ reason: 'disabled_device' });
            // No DeviceDisabled code exists; IoT Hub refuses a disabled device as unauthorized (401), so that code.
            throw new TributaryError('IotHubUnauthorizedAccess', `message ${sender.messageId ?? '(no id)'} dropped: device ${deviceId} is disabled; enable it to accept its traffic`, { details: { deviceId, reason: 'disabled' } });
          }

          const add = addedFor(found);
          const headers = outputHeaders(ctx.headers);
          if (spliced && plan) {
            let insert = add.inserts.get(plan);
            if (!insert) add.inserts.set(plan, (insert = plan.encodeInsert(add.enrichments, add.twin)));
            return [{ topic: config.outputTopic, key: record.key, value: plan.splice(value, spliced.bodyFieldStart, insert), headers }];
          }
          const enriched: EnrichedDeviceMessage = { ...message!, enrichments: add.enrichments, twin: add.twin };
          // Encoded under the enriched message's subject: a custom output topic has no subject of its own in schemas/.
          return [{ topic: config.outputTopic, key: record.key, value: await serde.encode(TOPICS.deviceMessagesEnriched, enriched), headers }];
        },
        async close() {
          unsubscribe?.();
          await invalidation?.stop();
        },
      };
    },
  });
}
