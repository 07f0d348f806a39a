import { isAbsolute, join, resolve } from 'node:path';
import type { Config } from '../config/index.ts';
import { componentLogger } from '../logging/logger.ts';
import type { Log } from '../log/types.ts';
import { coreTopicSpecs } from '../log/topics.ts';
import { openStore, type Store } from '../store/index.ts';
import {
  AvroSerde, ConfluentSchemaRegistry, InProcessSchemaRegistry, SchemaCatalog, registerAllSchemas, type SchemaRegistry,
} from '../serde/index.ts';

/** The shared services every role runs on: the log, the store, the schema registry and the serde over it. */
export interface Platform {
  readonly config: Config;
  readonly dataDir: string;
  readonly log: Log;
  readonly store: Store;
  readonly registry: SchemaRegistry;
  readonly serde: AvroSerde;
  /** One line per service saying what it is and where, for the start-up banner. */
  readonly describe: Record<'log' | 'store' | 'registry', string>;
  close(): Promise<void>;
}

const logger = componentLogger('platform');

/**
 * Opens what the configuration asks for — real infrastructure when its URL is set, the embedded counterpart under the
 * data dir otherwise — then registers the checked-in schemas and creates the hub's topics. Each step logs as it
 * completes so a slow start shows where it is; anything that fails closes what was already opened.
 */
export async function openPlatform(config: Config): Promise<Platform> {
  const dataDir = isAbsolute(config.dataDir) ? config.dataDir : resolve(config.dataDir);
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    const log = await openLog(config, dataDir);
    opened.push(log);
    await log.createTopics(coreTopicSpecs(config.kafka.partitions));
    logger.info({ log: log.kind, partitions: config.kafka.partitions }, 'log ready, hub topics present');

    const store = await openStore({ dataDir, databaseUrl: config.database.url });
    opened.push(store);

    const registry: SchemaRegistry = config.schemaRegistry.url
      ? new ConfluentSchemaRegistry({ url: config.schemaRegistry.url })
      : await InProcessSchemaRegistry.open({ dataDir });
    opened.push(registry);
    const catalog = SchemaCatalog.load();
    await registerAllSchemas(registry, catalog);
    const serde = new AvroSerde(registry, catalog);

    return {
      config,
      dataDir,
      log,
      store,
      registry,
      serde,
      describe: {
        log: config.kafka.brokers ? `Kafka at ${config.kafka.brokers.join(',')}` : `embedded, ${join(dataDir, 'log')}`,
        store: config.database.url ? 'PostgreSQL' : `PGlite, ${join(dataDir, 'store')}`,
        registry: config.schemaRegistry.url ?? `in-process, ${dataDir}`,
      },
      async close() {
        for (const resource of opened.reverse()) await resource.close().catch((err: unknown) => logger.warn({ err }, 'close failed'));
      },
    };
  } catch (err) {
    for (const resource of opened.reverse()) await resource.close().catch(() => undefined);
    throw err;
  }
}

async function openLog(config: Config, dataDir: string): Promise<Log> {
  if (config.kafka.brokers) {
    const { KafkaLog } = await import('../log/kafka/index.ts');
    return KafkaLog.connect({ brokers: config.kafka.brokers, clientId: config.kafka.clientId, producerThread: config.kafka.producerThread });
  }
  const { EmbeddedLog } = await import('../log/embedded/index.ts');
  return EmbeddedLog.open({ dataDir });
}
