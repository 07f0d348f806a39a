/**
 * A throwaway embedded platform for runtime and processor tests: EmbeddedLog and the in-process schema registry in a
 * temp dir, with the hub's schemas registered. Real implementations, not fakes — only the storage is temporary.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../../core/log/embedded/index.ts';
import type { LogRecord } from '../../core/log/types.ts';
import { AvroSerde, InProcessSchemaRegistry, SchemaCatalog, registerAllSchemas } from '../../core/serde/index.ts';
import { eventually } from './services.ts';

export interface EmbeddedPlatform {
  log: EmbeddedLog;
  serde: AvroSerde;
  dataDir: string;
  /** Reads a topic from the beginning with a throwaway group until `count` records arrived. */
  readTopic(topic: string, count: number): Promise<LogRecord[]>;
  close(): Promise<void>;
}

export async function openEmbeddedPlatform(): Promise<EmbeddedPlatform> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-test-'));
  const log = await EmbeddedLog.open({ dataDir, retryBackoffMs: 20, maxRetryBackoffMs: 100 });
  const registry = await InProcessSchemaRegistry.open({ dataDir });
  const catalog = SchemaCatalog.load();
  await registerAllSchemas(registry, catalog);
  const serde = new AvroSerde(registry, catalog);
  let readers = 0;
  return {
    log,
    serde,
    dataDir,
    async readTopic(topic, count) {
      const records: LogRecord[] = [];
      const consumer = log.consumer({ groupId: `reader-${readers++}`, topics: [topic], fromBeginning: true });
      await consumer.start(async (batch) => {
        records.push(...batch.records);
      });
      try {
        await eventually(`${count} records on ${topic}`, () => (records.length >= count ? true : undefined), 30_000);
      } finally {
        await consumer.stop();
      }
      return records;
    },
    async close() {
      await log.close();
      await registry.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
