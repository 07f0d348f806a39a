/**
 * Test helper run as a separate process by restart.int.test.ts (`node --import tsx processors/router/testing/router-child.ts`):
 * one router process on real Kafka, its routes in a PostgreSQL schema shared with the test, its schemas in the
 * Confluent-compatible registry — everything another process can see, so a second router picks up where a killed one
 * stopped. Settings come from the environment:
 *
 *   ROUTER_CHILD_DATABASE_URL, ROUTER_CHILD_SCHEMA, ROUTER_CHILD_INPUT, ROUTER_CHILD_GROUP, ROUTER_CHILD_MAX_BATCH,
 *   ROUTER_CHILD_BROKERS (comma-separated), ROUTER_CHILD_REGISTRY_URL,
 *   ROUTER_CHILD_HOLD_AFTER (optional): once this many records went through `process`, every later offset commit
 *   hangs — after the batch's outputs were produced and acknowledged, before its offset is committed, the worst place
 *   for an at-least-once processor to die. The test SIGKILLs the process there: some records reached the endpoint,
 *   later ones cannot have, and the last batch of each partition is on the endpoint but uncommitted (no timing
 *   involved). Prints `started` and then `holding` on stdout.
 *
 * SIGTERM stops it gracefully (leaves the group after the batch in flight).
 */
import { KafkaLog } from '../../../core/log/kafka/kafka-log.ts';
import type { Consumer, Log } from '../../../core/log/types.ts';
import { AvroSerde, ConfluentSchemaRegistry, SchemaCatalog } from '../../../core/serde/index.ts';
import { PgStore } from '../../../core/store/index.ts';
import type { ProcessorDefinition } from '../../runtime/define-processor.ts';
import { runProcessor } from '../../runtime/run-processor.ts';
import { createRouter } from '../router.ts';
import { RouteStore } from '../routes.ts';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`router-child: ${name} is not set`);
  return value;
}

const holdAfter = process.env.ROUTER_CHILD_HOLD_AFTER ? Number(process.env.ROUTER_CHILD_HOLD_AFTER) : Infinity;
const store = new PgStore({ url: env('ROUTER_CHILD_DATABASE_URL'), schema: env('ROUTER_CHILD_SCHEMA') });
const log = await KafkaLog.connect({ brokers: env('ROUTER_CHILD_BROKERS').split(','), clientId: 'router-child' });
const registry = new ConfluentSchemaRegistry({ url: env('ROUTER_CHILD_REGISTRY_URL') });
const serde = new AvroSerde(registry, SchemaCatalog.load());

const router = createRouter({ routes: new RouteStore(store), log });
let processed = 0;
let holding = false;
const counting: ProcessorDefinition<typeof router.configSchema> = {
  ...router,
  async create(config, ctx) {
    const inner = await router.create(config, ctx);
    return {
      ...inner,
      process(record, pctx) {
        processed++;
        return inner.process(record, pctx);
      },
    };
  },
};

/** The log as the runtime sees it: the same, except that commits stop for good once `holdAfter` records went by. */
function gate(consumer: Consumer): Consumer {
  return new Proxy(consumer, {
    get(target, prop) {
      if (prop === 'commit') {
        return async (offsets: Parameters<Consumer['commit']>[0]) => {
          if (processed < holdAfter) return target.commit(offsets);
          if (!holding) process.stdout.write('holding\n');
          holding = true;
          return new Promise<never>(() => undefined);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
const gatedLog = new Proxy(log, {
  get(target, prop) {
    if (prop === 'consumer') return (options: Parameters<Log['consumer']>[0]) => gate(target.consumer(options));
    const value: unknown = Reflect.get(target, prop, target);
    return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
  },
});

const running = await runProcessor(counting, {
  log: gatedLog, serde, groupId: env('ROUTER_CHILD_GROUP'), maxBatchRecords: Number(env('ROUTER_CHILD_MAX_BATCH')),
  config: { sources: ['DeviceMessages'], topics: { DeviceMessages: env('ROUTER_CHILD_INPUT') }, reloadIntervalMs: 60_000, endpointPartitions: 3 },
});
process.stdout.write('started\n');

process.once('SIGTERM', () => {
  void (async () => {
    await running.stop();
    await log.close();
    await store.close();
    await registry.close();
    process.exit(0);
  })();
});
