/**
 * EmbeddedLog: the Log contract (core/log/types.ts) in-process, on durable segment files under
 * `<dataDir>/log/<topic>/<partition>/`, topic metadata beside them and committed offsets under `<dataDir>/groups/`.
 * The zero-install default (DESIGN.md §8); behaves like Kafka where the contract suite can tell.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { TributaryError } from '../../errors/index.ts';
import { componentLogger } from '../../logging/logger.ts';
import { DefaultPartitioner } from '../partitioner.ts';
import { EmbeddedConsumer, type ConsumerHost } from './consumer.ts';
import { DataDirLock } from './data-dir-lock.ts';
import { GroupCoordinator } from './group-coordinator.ts';
import { normalizeRecord, type NormalizedRecord } from './normalize.ts';
import { OffsetStore } from './offset-store.ts';
import { PartitionLog, type PartitionSettings } from './partition-log.ts';
import { intConfig, loadTopics, logRoot, partitionDir, removeTopic, validateTopicName, validateTopicSpec, writeTopic, type TopicMeta } from './topic-store.ts';
import type { Consumer, ConsumerOptions, Log, ProduceRecord, RecordMetadata, TopicDescription, TopicPartitionOffset, TopicSpec } from '../types.ts';

const log = componentLogger('embedded-log');

export interface EmbeddedLogOptions {
  dataDir: string;
  /** Roll to a new segment past this size (topic config `segment.bytes` overrides). Default 64 MiB. */
  segmentBytes?: number;
  /** fsync every flush before produce resolves (default true). false trades durability on power loss for speed. */
  fsync?: boolean;
  /** Largest record accepted (topic config `max.message.bytes` overrides). Default 1048588, Kafka's default. */
  maxRecordBytes?: number;
  /** Upper bound on one consumer batch in bytes (at least one record is always returned). Default 1 MiB. */
  maxBatchBytes?: number;
  /** Batch size when ConsumerOptions.maxBatchRecords is not given. Default 500 (Kafka's max.poll.records). */
  defaultMaxBatchRecords?: number;
  /** First retry delay after a failed handler, doubling up to maxRetryBackoffMs. Defaults 200 ms and 10 s. */
  retryBackoffMs?: number;
  maxRetryBackoffMs?: number;
  /** How often retention runs (it also runs whenever a segment rolls). Default 5 min, Kafka's default. */
  retentionCheckIntervalMs?: number;
}

/** Kafka's broker defaults for topic configs the embedded log honours. */
const KAFKA_DEFAULTS = { retentionMs: 7 * 24 * 3600 * 1000, retentionBytes: -1, maxMessageBytes: 1_048_588 };

interface Topic {
  meta: TopicMeta;
  partitions: PartitionLog[];
}

export class EmbeddedLog implements Log {
  readonly kind = 'embedded' as const;
  readonly dataDir: string;
  readonly #options: Required<Omit<EmbeddedLogOptions, 'dataDir'>>;
  readonly #lock: DataDirLock;
  readonly #offsets: OffsetStore;
  readonly #topics = new Map<string, Topic>();
  readonly #consumers = new Set<EmbeddedConsumer>();
  readonly #partitioner = new DefaultPartitioner();
  readonly #coordinator: GroupCoordinator;
  readonly #host: ConsumerHost;
  #retentionTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  /** Serialises topic creation/deletion so concurrent createTopics calls stay idempotent. */
  #adminChain: Promise<unknown> = Promise.resolve();

  private constructor(dataDir: string, options: Required<Omit<EmbeddedLogOptions, 'dataDir'>>, lock: DataDirLock, offsets: OffsetStore) {
    this.dataDir = dataDir;
    this.#options = options;
    this.#lock = lock;
    this.#offsets = offsets;
    this.#coordinator = new GroupCoordinator((topic) => this.#topics.get(topic)?.meta.partitions);
    this.#host = {
      coordinator: this.#coordinator,
      offsets: this.#offsets,
      partitionLog: (topic, partition) => this.#topics.get(topic)?.partitions[partition],
      partitionCount: (topic) => this.#topics.get(topic)?.meta.partitions,
      assertOpen: () => this.#assertOpen(),
      forget: (consumer) => this.#consumers.delete(consumer),
    };
  }

  static async open(options: EmbeddedLogOptions): Promise<EmbeddedLog> {
    const resolved = {
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      fsync: options.fsync ?? true,
      maxRecordBytes: options.maxRecordBytes ?? KAFKA_DEFAULTS.maxMessageBytes,
      maxBatchBytes: options.maxBatchBytes ?? 1024 * 1024,
      defaultMaxBatchRecords: options.defaultMaxBatchRecords ?? 500,
      retryBackoffMs: options.retryBackoffMs ?? 200,
      maxRetryBackoffMs: options.maxRetryBackoffMs ?? 10_000,
      retentionCheckIntervalMs: options.retentionCheckIntervalMs ?? 5 * 60 * 1000,
    };
    await mkdir(logRoot(options.dataDir), { recursive: true });
    const lock = await DataDirLock.acquire(logRoot(options.dataDir));
    try {
      const offsets = await OffsetStore.open(options.dataDir, resolved.fsync);
      const embedded = new EmbeddedLog(options.dataDir, resolved, lock, offsets);
      for (const meta of await loadTopics(options.dataDir)) await embedded.#openTopic(meta);
      embedded.#retentionTimer = setInterval(() => void embedded.enforceRetention(), resolved.retentionCheckIntervalMs).unref();
      log.info({ dataDir: options.dataDir, topics: embedded.#topics.size }, 'embedded log open');
      return embedded;
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  createTopics(topics: TopicSpec[]): Promise<void> {
    return this.#admin(async () => {
      const created: string[] = [];
      for (const spec of topics) {
        const meta = validateTopicSpec(spec);
        if (this.#topics.has(meta.name)) continue; // Kafka answers TOPIC_ALREADY_EXISTS; the contract says leave it.
        await writeTopic(this.dataDir, meta, this.#options.fsync);
        await this.#openTopic(meta);
        created.push(meta.name);
      }
      if (created.length > 0) await this.#coordinator.topicsChanged(created);
    });
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    const topic = this.#topic(name);
    return { name, partitions: topic.meta.partitions };
  }

  async listTopics(): Promise<string[]> {
    this.#assertOpen();
    return [...this.#topics.keys()].sort();
  }

  deleteTopics(names: string[]): Promise<void> {
    return this.#admin(async () => {
      for (const name of names) {
        validateTopicName(name);
        const topic = this.#topics.get(name);
        if (!topic) continue;
        this.#topics.delete(name);
        // Members give the partitions up (waiting for batches in flight) before the files go away.
        await this.#coordinator.topicsChanged([name]);
        await Promise.all(topic.partitions.map((p) => p.close()));
        await removeTopic(this.dataDir, name);
        await this.#offsets.forgetTopic(name);
      }
    });
  }

  async produce(topicName: string, records: ProduceRecord[]): Promise<RecordMetadata[]> {
    const topic = this.#topic(topicName);
    const count = topic.meta.partitions;
    const maxRecordBytes = intConfig(topic.meta.config, 'max.message.bytes', this.#options.maxRecordBytes);
    const now = Date.now();
    // Validate everything before appending anything, so a bad record fails the call without a partial write.
    const normalized = records.map((r) => normalizeRecord(topicName, r, count, maxRecordBytes, now));
    const byPartition = new Map<number, { records: NormalizedRecord[]; indexes: number[] }>();
    normalized.forEach((record, index) => {
      const partition = record.partition ?? this.#partitioner.partition(topicName, record.key, count);
      let group = byPartition.get(partition);
      if (!group) byPartition.set(partition, (group = { records: [], indexes: [] }));
      group.records.push(record);
      group.indexes.push(index);
    });
    const result = new Array<RecordMetadata>(records.length);
    await Promise.all(
      [...byPartition].map(async ([partition, group]) => {
        const first = await topic.partitions[partition]!.append(group.records);
        group.indexes.forEach((index, i) => (result[index] = { topic: topicName, partition, offset: first + i }));
      }),
    );
    return result;
  }

  consumer(options: ConsumerOptions): Consumer {
    this.#assertOpen();
    const consumer = new EmbeddedConsumer(options, this.#host, {
      defaultMaxBatchRecords: this.#options.defaultMaxBatchRecords,
      maxBatchBytes: this.#options.maxBatchBytes,
      retryBackoffMs: this.#options.retryBackoffMs,
      maxRetryBackoffMs: this.#options.maxRetryBackoffMs,
    });
    this.#consumers.add(consumer);
    return consumer;
  }

  async committedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]> {
    this.#assertOpen();
    return this.#offsets.get(groupId, topic);
  }

  async endOffsets(topic: string): Promise<TopicPartitionOffset[]> {
    return this.#topic(topic).partitions.map((p) => ({ topic, partition: p.partition, offset: p.endOffset }));
  }

  /** The oldest retained offset per partition (Kafka's beginning offsets); moves forward as retention deletes. */
  async startOffsets(topic: string): Promise<TopicPartitionOffset[]> {
    return this.#topic(topic).partitions.map((p) => ({ topic, partition: p.partition, offset: p.startOffset }));
  }

  /** Applies retention.bytes / retention.ms to every partition now; returns the number of segments deleted. */
  async enforceRetention(now = Date.now()): Promise<number> {
    let deleted = 0;
    for (const topic of this.#topics.values()) {
      for (const partition of topic.partitions) {
        try {
          deleted += await partition.enforceRetention(now);
        } catch (err) {
          log.error({ topic: partition.topic, partition: partition.partition, err }, 'retention failed');
        }
      }
    }
    return deleted;
  }

  /** Partition internals for tests and metrics: sizes, segment counts, flushes (how many fsyncs served produce). */
  stats(topic: string): Array<{ partition: number; sizeBytes: number; segments: number; flushes: number }> {
    return this.#topic(topic).partitions.map((p) => ({ partition: p.partition, sizeBytes: p.sizeBytes, segments: p.segmentCount, flushes: p.flushCount }));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#retentionTimer);
      await Promise.all([...this.#consumers].map((c) => c.stop()));
      await this.#adminChain.catch(() => undefined);
      for (const topic of this.#topics.values()) await Promise.all(topic.partitions.map((p) => p.close()));
      await this.#offsets.flush();
      await this.#lock.release();
      log.info({ dataDir: this.dataDir }, 'embedded log closed');
    })();
    return this.#closing;
  }

  async #openTopic(meta: TopicMeta): Promise<void> {
    const settings: PartitionSettings = {
      segmentBytes: intConfig(meta.config, 'segment.bytes', this.#options.segmentBytes),
      retentionBytes: intConfig(meta.config, 'retention.bytes', KAFKA_DEFAULTS.retentionBytes),
      retentionMs: intConfig(meta.config, 'retention.ms', KAFKA_DEFAULTS.retentionMs),
      fsync: this.#options.fsync,
      maxFlushBytes: Math.max(4 * 1024 * 1024, this.#options.maxRecordBytes),
    };
    const partitions: PartitionLog[] = [];
    for (let p = 0; p < meta.partitions; p++) {
      partitions.push(await PartitionLog.open(partitionDir(this.dataDir, meta.name, p), meta.name, p, settings));
    }
    this.#topics.set(meta.name, { meta, partitions });
  }

  #admin<T>(step: () => Promise<T>): Promise<T> {
    try {
      this.#assertOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.#adminChain.then(step);
    this.#adminChain = run.catch(() => undefined);
    return run;
  }

  #topic(name: string): Topic {
    this.#assertOpen();
    const topic = this.#topics.get(name);
    if (!topic) throw new TributaryError('TopicNotFound', `Topic ${name} does not exist in the embedded log at ${join(this.dataDir, 'log')}; create it with createTopics first.`);
    return topic;
  }

  #assertOpen(): void {
    if (this.#closing) throw new TributaryError('LogClosed', 'The embedded log is closed; open a new EmbeddedLog.');
  }
}
