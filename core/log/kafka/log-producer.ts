/**
 * The producing half of KafkaLog: one idempotent kafkajs producer behind a BatchingProducer, topic routes (partition
 * counts) from broker metadata, and the producer replacement after a topic is deleted. KafkaLog runs it in its own
 * thread, or on a worker thread through ThreadProducer (producer-thread/), where the same class runs unchanged.
 */
import { CompressionTypes, Partitioners, type Admin, type Kafka, type PartitionMetadata, type Producer } from 'kafkajs';
import { TributaryError } from '../../errors/index.ts';
import type { Logger } from '../../logging/logger.ts';
import { partitionForKey } from '../partitioner.ts';
import type { ProduceRecord, RecordMetadata } from '../types.ts';
import { BatchingProducer, type BatchingProducerOptions, type TopicRoute } from './batching-producer.ts';
import { logClosedError, toLogError } from './errors.ts';

/** What KafkaLog needs of a producer, wherever it runs. */
export interface LogProducerLike {
  produce(topic: string, records: ProduceRecord[]): Promise<RecordMetadata[]>;
  /** Drops cached routes of deleted topics (and the kafkajs producer that still knows them). */
  forgetTopics(topics: string[]): void;
  /** Flushes what is queued, failing it with LogClosed after `timeoutMs`, then disconnects. */
  close(timeoutMs: number): Promise<void>;
  /** Produce requests sent so far. */
  readonly requests: number;
}

export interface LogProducerSettings {
  producer: BatchingProducerOptions;
  compression: 'gzip' | 'none';
  /** How long a topic's partition count is trusted before it is looked up again (new partitions get used). */
  metadataMaxAgeMs: number;
}

const PRODUCER_RETRIES = 20;

export function createProducer(kafka: Kafka): Producer {
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

/** A topic's partitions from broker metadata, sorted; TopicNotFound when it has none. */
export async function fetchPartitions(admin: Admin, topic: string): Promise<PartitionMetadata[]> {
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = topics.find((t) => t.name === topic)?.partitions ?? [];
    if (partitions.length === 0) throw new TributaryError('TopicNotFound', `Topic ${topic} does not exist; create it first (auto-creation is off).`);
    return [...partitions].sort((a, b) => a.partitionId - b.partitionId);
  } catch (err) {
    throw toLogError(err, `metadata of ${topic}`);
  }
}

export class LogProducer implements LogProducerLike {
  private readonly routes = new Map<string, { route: TopicRoute; expiresAt: number }>();
  private readonly routeLookups = new Map<string, Promise<TopicRoute>>();
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private readonly batcher: BatchingProducer;
  /** A producer replacement under way (see forgetTopics); close() waits for it. */
  private producerSwap: Promise<void> = Promise.resolve();
  private closed = false;

  /** `producer` must be connected already (connect() does both for callers that have only the client). */
  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private producer: Producer,
    private readonly settings: LogProducerSettings,
    private readonly logger: Logger,
  ) {
    const compression = settings.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    this.batcher = new BatchingProducer(settings.producer, {
      // acks=-1 (all in-sync replicas): QoS 1 telemetry is acknowledged to the device only after this (§6).
      send: (topicMessages) => this.producer.sendBatch({ acks: -1, compression, topicMessages }),
      route: (topic) => this.route(topic),
      onTopicMissing: (topics) => this.forgetTopics(topics),
      logger,
    });
  }

  get requests(): number {
    return this.batcher.requests;
  }

  produce(topic: string, records: ProduceRecord[]): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(logClosedError('produce'));
    return this.batcher.produce(topic, records);
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
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
    await this.producerSwap;
    await this.producer.disconnect().catch(() => undefined);
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
      lookup = fetchPartitions(this.admin, topic)
        .then((partitionMetadata) => {
          const route: TopicRoute = {
            partitions: partitionMetadata.length,
            // kafkajs' DefaultPartitioner is the Java client's: murmur2(key) mod partitions, so a Java or
            // librdkafka (murmur2_random) producer puts a key on the same partition; null keys go round-robin.
            // Keyed records take partitioner.ts's murmur2, the same mapping in 32-bit integer arithmetic: kafkajs'
            // runs on BigInt-backed Longs and filters the partition list per call, ~5% of a processor's CPU per record.
            choose: (key) => (key === null ? this.partitioner({ topic, partitionMetadata, message: { key, value: null } }) : partitionForKey(key, partitionMetadata.length)),
          };
          this.routes.set(topic, { route, expiresAt: Date.now() + this.settings.metadataMaxAgeMs });
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
  forgetTopics(topics: string[]): void {
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
