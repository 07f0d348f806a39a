/**
 * Keeps enrich's device cache honest across processes: registry changes arrive on `iot.device.lifecycle` (published
 * after the registry's transaction committed) and twin changes on `iot.twin.changes`. Both are keyed by device id,
 * which is all invalidation needs, so records are not decoded — an event of a schema version this build does not know
 * still invalidates. Every enrich process reads every event (a group of its own) from the moment it starts: what
 * happened before is already in what it will look up. This mirrors ingest/gateway/lifecycle-listener.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Log, RecordBatch } from '../../core/log/types.ts';
import type { Logger } from '../../core/logging/logger.ts';

export interface CacheInvalidationOptions {
  log: Log;
  topics: readonly string[];
  logger: Logger;
  invalidate: (deviceId: string) => void;
  /** Defaults to a fresh id per process: each process must see every event. */
  instanceId?: string;
}

export class CacheInvalidation {
  private consumer: Consumer | undefined;

  constructor(private readonly o: CacheInvalidationOptions) {}

  async start(): Promise<void> {
    if (this.o.topics.length === 0) return;
    const groupId = `tributary-processor-enrich-cache-${this.o.instanceId ?? randomUUID()}`;
    this.consumer = this.o.log.consumer({ groupId, topics: [...this.o.topics], fromBeginning: false });
    await this.consumer.start((batch) => this.onBatch(batch));
  }

  private async onBatch(batch: RecordBatch): Promise<void> {
    for (const record of batch.records) {
      if (record.key === null) {
        this.o.logger.warn({ topic: record.topic, partition: record.partition, offset: record.offset }, 'registry event without a device id key skipped');
        continue;
      }
      this.o.invalidate(record.key.toString('utf8'));
    }
    await this.consumer?.commit([{ topic: batch.topic, partition: batch.partition, offset: batch.nextOffset }]);
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }
}
