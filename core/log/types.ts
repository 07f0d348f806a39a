/**
 * The Log contract (DESIGN.md §4): the one interface processors, connectors and ingest use to talk to the event log.
 * Two implementations pass the same contract suite (core/log/contract-suite.ts): KafkaLog (kafkajs, production) and
 * EmbeddedLog (in-process segment files, the zero-install default). Nothing outside core/log imports kafkajs.
 *
 * Semantics follow Kafka's so that code written against EmbeddedLog behaves the same on a real cluster:
 * - a record's partition is chosen from its key (same key → same partition → per-key order), null keys spread;
 * - offsets are per partition, start at 0 and grow by one per record;
 * - a committed offset is the offset of the *next* record to read (last processed + 1), as in Kafka;
 * - consumers of one group split the partitions of their topics; each partition is read by one member at a time;
 * - delivery is at-least-once: what was not committed is delivered again after a restart or a rebalance.
 */

export type Headers = Record<string, Buffer>;

/** A record as read from the log. */
export interface LogRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Headers;
  /** Milliseconds since the epoch: the producer's timestamp (CreateTime). */
  readonly timestamp: number;
}

/** A record to append. Strings are written as UTF-8. */
export interface ProduceRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string>;
  /** Explicit partition; by default the partition is derived from the key. */
  partition?: number;
  /** Milliseconds since the epoch; defaults to the time of the append. */
  timestamp?: number;
}

/** Where an appended record landed. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Kafka topic configs (e.g. `retention.ms`, `cleanup.policy`); EmbeddedLog honours retention.ms and retention.bytes. */
  config?: Record<string, string>;
}

export interface TopicDescription {
  readonly name: string;
  readonly partitions: number;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** Offset to commit: `offset` is the next record to read (last processed offset + 1). */
export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: number;
}

/** Records of one partition, in offset order, handed to a consumer in one call. */
export interface RecordBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly LogRecord[];
  /** The offset to commit once every record of this batch is durably handled (last offset + 1). */
  readonly nextOffset: number;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts: the oldest retained record (true) or the end (false, default). */
  fromBeginning?: boolean;
  /** Upper bound on records per batch; bounds the memory one partition can take while its handler runs. */
  maxBatchRecords?: number;
}

/**
 * Called with one partition's batch at a time; batches of one partition never overlap, so per-key order holds.
 * A rejected promise stops nothing: the consumer logs it, does not commit, and delivers the batch again after a
 * backoff — the runtimes in processors/ and connectors/ decide what is retried and what is dead-lettered.
 */
export type BatchHandler = (batch: RecordBatch) => Promise<void>;

export type ConsumerEvent =
  | { type: 'assigned'; partitions: TopicPartition[] }
  | { type: 'revoked'; partitions: TopicPartition[] }
  | { type: 'error'; error: Error };

export interface Consumer {
  /** Joins the group and starts delivering batches; resolves once the consumer is subscribed. */
  start(handler: BatchHandler): Promise<void>;
  /** Commits offsets for this group. Call only after the records before `offset` are durably handled. */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Stops fetching from the given partitions (all assigned ones when omitted) without leaving the group. */
  pause(partitions?: TopicPartition[]): void;
  resume(partitions?: TopicPartition[]): void;
  /** Partitions currently assigned to this member. */
  assignment(): TopicPartition[];
  /** Group events (assignment changes, errors) for metrics and logs. */
  on(listener: (event: ConsumerEvent) => void): () => void;
  /** Leaves the group after the batch in flight (if any) finishes; uncommitted records will be delivered again. */
  stop(): Promise<void>;
}

export interface Log {
  /** Implementation name for logs and metrics: `kafka` or `embedded`. */
  readonly kind: 'kafka' | 'embedded';
  /** Creates topics that do not exist yet; existing topics are left as they are (idempotent). */
  createTopics(topics: TopicSpec[]): Promise<void>;
  describeTopic(name: string): Promise<TopicDescription>;
  listTopics(): Promise<string[]>;
  deleteTopics(names: string[]): Promise<void>;
  /**
   * Appends records; resolves once the log holds them durably (Kafka: acks=all by an idempotent producer;
   * embedded: written to the segment file and fsynced). Concurrent calls are batched together, so callers
   * should not await one record before sending the next.
   */
  produce(topic: string, records: ProduceRecord[]): Promise<RecordMetadata[]>;
  consumer(options: ConsumerOptions): Consumer;
  /** Committed offsets of a group (absent partitions have none). */
  committedOffsets(groupId: string, topic: string): Promise<TopicPartitionOffset[]>;
  /** The offset the next appended record of each partition will get. */
  endOffsets(topic: string): Promise<TopicPartitionOffset[]>;
  /** Flushes pending appends, stops consumers created from this log, and releases connections/files. */
  close(): Promise<void>;
}
