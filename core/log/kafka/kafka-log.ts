import { CompressionTypes, Kafka, Partitioners, type Admin, type ISocketFactory, type PartitionMetadata, type Producer, type RetryOptions } from 'kafkajs';
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
import { partitionForKey } from '../partitioner.ts';
import { BatchingProducer, type BatchingProducerOptions, type TopicRoute } from './batching-producer.ts';
import { logClosedError, toLogError } from './errors.ts';
import { KafkaConsumer, type KafkaConsumerSettings } from './kafka-consumer.ts';
import { kafkaLogLevelFor, pinoLogCreator } from './kafka-logger.ts';

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
  /**
   * How kafkajs opens broker connections (its `socketFactory`). Tests route every connection through a TCP proxy they
   * can cut, to play a broker outage without touching the shared broker (brokers advertise their own address, so
   * pointing `brokers` at a proxy covers only the bootstrap connection).
   */
  socketFactory?: ISocketFactory;
  /** How long close() waits for queued records to be acknowledged before failing them with LogClosed. */
  closeTimeoutMs?: number;
  /** How long a topic's partition count is trusted before it is looked up again (new partitions get used). */
  metadataMaxAgeMs?: number;
  logger?: Logger;
}

/** Client-level retry (admin, metadata, connections): exponential backoff up to 10 s, so a broker restart is ridden out. */
const CLIENT_RETRY: RetryOptions = { initialRetryTime: 300, maxRetryTime: 10_000, retries: 10 };

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
  private readonly routes = new Map<string, { route: TopicRoute; expiresAt: number }>();
  private readonly routeLookups = new Map<string, Promise<TopicRoute>>();
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private readonly batcher: BatchingProducer;
  /** A producer replacement under way (see forgetTopics); close() waits for it. */
  private producerSwap: Promise<void> = Promise.resolve();

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private producer: Producer,
    private readonly options: KafkaLogOptions,
    private readonly logger: Logger,
  ) {
    const compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    this.batcher = new BatchingProducer(
      { ...DEFAULT_PRODUCER, ...options.producer },
      {
        // acks=-1 (all in-sync replicas): QoS 1 telemetry is acknowledged to the device only after this (§6).
        send: (topicMessages) => this.producer.sendBatch({ acks: -1, compression, topicMessages }),
        route: (topic) => this.route(topic),
        onTopicMissing: (topics) => this.forgetTopics(topics),
        logger,
      },
    );
  }

  static async connect(options: KafkaLogOptions): Promise<KafkaLog> {
    if (options.brokers.length === 0) throw new TributaryError('ConfigInvalid', 'KafkaLog needs at least one broker (TRIBUTARY_KAFKA_BROKERS=host:port,…).');
    const logger = options.logger ?? componentLogger('kafka');
    const kafka = new Kafka({
      clientId: options.clientId ?? 'tributary',
      brokers: options.brokers,
      logLevel: kafkaLogLevelFor(logger),
      logCreator: pinoLogCreator(logger),
      retry: { ...CLIENT_RETRY, ...options.retry },
      connectionTimeout: 3_000,
      ...(options.socketFactory ? { socketFactory: options.socketFactory } : {}),
    });
    const admin = kafka.admin();
    const producer = createProducer(kafka);
    try {
      await admin.connect();
      await producer.connect();
    } catch (err) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
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
    const partitions = await this.fetchPartitions(name);
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
      this.forgetTopics(present);
    } catch (err) {
      throw toLogError(err, `deleteTopics ${names.join(', ')}`);
    }
  }

  produce(topic: string, records: ProduceRecord[]): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(logClosedError('produce'));
    return this.batcher.produce(topic, records);
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
    await this.fetchPartitions(topic);
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
    const timeoutMs = this.options.closeTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const flushed = await Promise.race([
      this.batcher.close().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!flushed) {
      this.logger.error({ timeoutMs }, 'Kafka did not acknowledge the queued records before close; failing them');
      this.batcher.abort(logClosedError('produce'));
    }
    await Promise.allSettled([...this.consumers].map((c) => c.stop()));
    await this.producerSwap;
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }

  /** How many produce requests went to the broker (coalescing makes this far smaller than the produce() calls). */
  get produceRequests(): number {
    return this.batcher.requests;
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw logClosedError(operation);
  }

  private async fetchPartitions(topic: string): Promise<PartitionMetadata[]> {
    try {
      const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = topics.find((t) => t.name === topic)?.partitions ?? [];
      if (partitions.length === 0) throw new TributaryError('TopicNotFound', `Topic ${topic} does not exist; create it first (auto-creation is off).`);
      return [...partitions].sort((a, b) => a.partitionId - b.partitionId);
    } catch (err) {
      throw toLogError(err, `metadata of ${topic}`);
    }
  }

  /** The cached route of a topic; an expired entry is still used while a fresh one is looked up in the background. */
  private route(topic: string): TopicRoute | Promise<TopicRoute> {
    const cached = this.routes.get(topic);
    if (cached && cached.expiresAt > Date.now()) return cached.route;
    const lookup = this.lookupRoute(topic);
    if (cached) {
      lookup.catch((err: unknown) => this.logger.debug({ err, topic }, 'topic metadata refresh failed; keeping the cached route'));
      return cached.route;
    }
    return lookup;
  }

  private lookupRoute(topic: string): Promise<TopicRoute> {
    let lookup = this.routeLookups.get(topic);
    if (!lookup) {
      lookup = this.fetchPartitions(topic)
        .then((partitionMetadata) => {
          const route: TopicRoute = {
            partitions: partitionMetadata.length,
            // kafkajs' DefaultPartitioner is the Java client's: murmur2(key) mod partitions, so a Java or
            // librdkafka (murmur2_random) producer puts a key on the same partition; null keys go round-robin.
            // Keyed records take partitioner.ts's murmur2, the same mapping in 32-bit integer arithmetic: kafkajs'
            // runs on BigInt-backed Longs and filters the partition list per call, ~5% of a processor's CPU per record.
            choose: (key) => (key === null ? this.partitioner({ topic, partitionMetadata, message: { key, value: null } }) : partitionForKey(key, partitionMetadata.length)),
          };
          this.routes.set(topic, { route, expiresAt: Date.now() + (this.options.metadataMaxAgeMs ?? 60_000) });
          return route;
        })
        .finally(() => this.routeLookups.delete(topic));
      this.routeLookups.set(topic, lookup);
    }
    return lookup;
  }

  /**
   * Forgets deleted topics. kafkajs keeps every topic it ever produced to in its metadata requests and fails all of
   * them with UNKNOWN_TOPIC_OR_PARTITION once one is gone, so the producer is replaced by a fresh one.
   */
  private forgetTopics(topics: string[]): void {
    for (const t of topics) this.routes.delete(t);
    if (this.closed) return;
    const old = this.producer;
    const fresh = createProducer(this.kafka);
    this.producer = fresh;
    this.producerSwap = (async () => {
      try {
        await fresh.connect();
      } catch (err) {
        this.logger.warn({ err }, 'replacement Kafka producer could not connect yet; kafkajs retries on the next send');
      }
      // The request in flight (if any) still uses the old producer; let it finish before disconnecting it.
      await this.batcher.flush().catch(() => undefined);
      await old.disconnect().catch(() => undefined);
    })();
  }
}

const PRODUCER_RETRIES = 20;

function createProducer(kafka: Kafka): Producer {
  return kafka.producer({
    // Idempotent: broker-side deduplication and ordering by sequence number across retries (Kafka's
    // enable.idempotence). kafkajs requires acks=-1 for it and serialises requests per broker, so one request in
    // flight is all it can use; more would not be allowed to reorder anyway.
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    // Retries with backoff up to 5 s, 20 of them: about 75 s in all, the role of the Java client's
    // delivery.timeout.ms (120 s). A broker restart delays produce() instead of failing it, and the caller's bounded
    // in-flight window turns that into backpressure (§6). Unlimited retries (kafkajs' idempotent default) would hang
    // produce() forever on a topic deleted behind our back, because kafkajs retries UNKNOWN_TOPIC_OR_PARTITION.
    retry: { initialRetryTime: 100, maxRetryTime: 5_000, retries: PRODUCER_RETRIES },
  });
}

