import type { Admin, Kafka, RetryOptions } from 'kafkajs';
import { TributaryError } from '../../errors/index.ts';
import { componentLogger, type Logger } from '../../logging/logger.ts';
import type {
  Consumer,
  ConsumerOptions,
  Log,
  ProduceRecord,
  RecordMetadata,
  TopicDescription,
  TopicPartitionOffset,
  TopicSpec,
} from '../types.ts';
import type { BatchingProducerOptions } from './batching-producer.ts';
import { CLIENT_RETRY, createKafkaClient, type KafkaClientOptions } from './client.ts';
import { logClosedError, toLogError } from './errors.ts';
import { KafkaConsumer, type KafkaConsumerSettings } from './kafka-consumer.ts';
import { LogProducer, createProducer, fetchPartitions, type LogProducerLike, type LogProducerSettings } from './log-producer.ts';
import { ThreadProducer } from './producer-thread/thread-producer.ts';

export interface KafkaLogOptions {
  brokers: string[];
  clientId?: string;
  /**
   * Record batch compression. kafkajs ships only gzip; snappy/lz4/zstd need codec packages the project does not
   * install. Default `none`: on a loopback or LAN broker gzip costs more CPU in this process than it saves on the
   * wire (measured by `npm run bench -- log`); choose gzip when the brokers are across a slow link.
   */
  compression?: 'gzip' | 'none';
  producer?: Partial<BatchingProducerOptions>;
  consumer?: Partial<KafkaConsumerSettings>;
  /** Overrides the client-level retry (connections, metadata, admin); tests use few retries to fail fast. */
  retry?: RetryOptions;
  /** See KafkaClientOptions.connectVia: every broker connection goes to this proxy or tunnel. */
  connectVia?: KafkaClientOptions['connectVia'];
  /**
   * Produce from a worker thread (producer-thread/thread-producer.ts): kafkajs' request encoding and its garbage leave
   * this thread. The hub turns it on (`kafka.producerThread`); default here false, for callers that produce little.
   */
  producerThread?: boolean;
  /** How long close() waits for queued records to be acknowledged before failing them with LogClosed. */
  closeTimeoutMs?: number;
  /** How long a topic's partition count is trusted before it is looked up again (new partitions get used). */
  metadataMaxAgeMs?: number;
  logger?: Logger;
}

const DEFAULT_PRODUCER: BatchingProducerOptions = {
  lingerMs: 5,
  batchBytes: 512 * 1024,
  batchRecords: 10_000,
  maxPartitionBytes: 1_000_000,
  maxRequestBytes: 16 * 1024 * 1024,
};

const DEFAULT_CONSUMER: KafkaConsumerSettings = {
  retry: CLIENT_RETRY,
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 1_000,
  maxWaitTimeMs: 500,
  maxBytesPerPartition: 1024 * 1024,
  maxBytes: 10 * 1024 * 1024,
  partitionsConsumedConcurrently: 1,
  handlerRetryInitialMs: 200,
  handlerRetryMaxMs: 30_000,
};

/** The production Log: kafkajs against a real Kafka cluster (DESIGN.md §4, §6). */
export class KafkaLog implements Log {
  readonly kind = 'kafka' as const;
  private closed = false;
  private readonly consumers = new Set<KafkaConsumer>();

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly producer: LogProducerLike,
    private readonly options: KafkaLogOptions,
    private readonly logger: Logger,
  ) {}

  static async connect(options: KafkaLogOptions): Promise<KafkaLog> {
    if (options.brokers.length === 0) throw new TributaryError('ConfigInvalid', 'KafkaLog needs at least one broker (TRIBUTARY_KAFKA_BROKERS=host:port,…).');
    const logger = options.logger ?? componentLogger('kafka');
    const client: KafkaClientOptions = {
      brokers: options.brokers,
      clientId: options.clientId ?? 'tributary',
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.connectVia ? { connectVia: options.connectVia } : {}),
    };
    const settings: LogProducerSettings = {
      producer: { ...DEFAULT_PRODUCER, ...options.producer },
      compression: options.compression ?? 'none',
      metadataMaxAgeMs: options.metadataMaxAgeMs ?? 60_000,
    };
    const kafka = createKafkaClient(client, logger);
    const admin = kafka.admin();
    let producer: LogProducerLike | undefined;
    try {
      await admin.connect();
      if (options.producerThread) {
        producer = await ThreadProducer.start({ client, settings, logLevel: logger.level }, logger);
      } else {
        const p = createProducer(kafka);
        try {
          await p.connect();
        } catch (err) {
          await p.disconnect().catch(() => undefined);
          throw err;
        }
        producer = new LogProducer(kafka, admin, p, settings, logger);
      }
    } catch (err) {
      await admin.disconnect().catch(() => undefined);
      throw new TributaryError(
        'LogUnavailable',
        `Cannot connect to Kafka at ${options.brokers.join(',')}: ${err instanceof Error ? err.message : String(err)}; start it (npm run infra:up) or fix TRIBUTARY_KAFKA_BROKERS.`,
        { cause: err },
      );
    }
    return new KafkaLog(kafka, admin, producer, options, logger);
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen('createTopics');
    for (const t of topics) {
      if (!Number.isInteger(t.partitions) || t.partitions < 1) {
        throw new TributaryError('ArgumentInvalid', `Topic ${t.name}: partitions must be a positive integer, got ${t.partitions}.`);
      }
    }
    try {
      const existing = new Set(await this.admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.name));
      if (missing.length === 0) return;
      // createTopics answers false (no throw) when another client created a topic in between: still idempotent.
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (err) {
      throw toLogError(err, `createTopics ${topics.map((t) => t.name).join(', ')}`);
    }
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    this.assertOpen('describeTopic');
    const partitions = await fetchPartitions(this.admin, name);
    return { name, partitions: partitions.length };
  }

  async listTopics(): Promise<string[]> {
    this.assertOpen('listTopics');
    try {
      // Kafka's own topics (__consumer_offsets, __transaction_state, …) are not part of the hub's log.
      return (await this.admin.listTopics()).filter((t) => !t.startsWith('__')).sort();
    } catch (err) {
      throw toLogError(err, 'listTopics');
    }
  }

  async deleteTopics(names: string[]): Promise<void> {
    this.assertOpen('deleteTopics');
    try {
      const existing = new Set(await this.admin.listTopics());
      const present = names.filter((n) => existing.has(n));
      if (present.length === 0) return;
      await this.admin.deleteTopics({ topics: present });
      this.producer.forgetTopics(present);
    } catch (err) {
      throw toLogError(err, `deleteTopics ${names.join(', ')}`);
    }
  }

  produce(topic: string, records: ProduceRecord[]): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(logClosedError('produce'));
    return this.producer.produce(topic, records);
  }

  consumer(options: ConsumerOptions): Consumer {
    this.assertOpen('consumer');
    if (options.topics.length === 0) throw new TributaryError('ArgumentInvalid', `Consumer group ${options.groupId} needs at least one topic.`);
    const settings: KafkaConsumerSettings = { ...DEFAULT_CONSUMER, ...this.options.consumer };
    const consumer = new KafkaConsumer(this.kafka, options, settings, this.logger.child({ groupId: options.groupId }), (c) =>
      this.consumers.delete(c),
    );
    this.consumers.add(consumer);
    return consumer;
  }

  async committedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]> {
    this.assertOpen('committedOffsets');
    try {
      const answer = await this.admin.fetchOffsets({ groupId, topics: [topic] });
      const partitions = answer.find((t) => t.topic === topic)?.partitions ?? [];
      // Kafka answers -1 for partitions the group never committed; the contract leaves those out.
      return partitions
        .map((p) => ({ topic, partition: p.partition, offset: Number(p.offset) }))
        .filter((p) => p.offset >= 0)
        .sort((a, b) => a.partition - b.partition);
    } catch (err) {
      throw toLogError(err, `committedOffsets of group ${groupId} on ${topic}`);
    }
  }

  async endOffsets(topic: string): Promise<TopicPartitionOffset[]> {
    this.assertOpen('endOffsets');
    // One metadata probe first: kafkajs' fetchTopicOffsets retries a missing topic for a minute before failing.
    await fetchPartitions(this.admin, topic);
    try {
      const offsets = await this.admin.fetchTopicOffsets(topic);
      return offsets.map((o) => ({ topic, partition: o.partition, offset: Number(o.high) })).sort((a, b) => a.partition - b.partition);
    } catch (err) {
      throw toLogError(err, `endOffsets of ${topic}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.close(this.options.closeTimeoutMs ?? 30_000);
    await Promise.allSettled([...this.consumers].map((c) => c.stop()));
    await this.admin.disconnect().catch(() => undefined);
  }

  /** How many produce requests went to the broker (coalescing makes this far smaller than the produce() calls). */
  get produceRequests(): number {
    return this.producer.requests;
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw logClosedError(operation);
  }
}
