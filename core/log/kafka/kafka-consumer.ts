import type { Consumer as KafkaJsConsumer, EachBatchPayload, Kafka, KafkaMessage, RetryOptions } from 'kafkajs';
import { TributaryError } from '../../errors/index.ts';
import type { Logger } from '../../logging/logger.ts';
import type {
  BatchHandler,
  Consumer,
  ConsumerEvent,
  ConsumerOptions,
  Headers,
  LogRecord,
  RecordBatch,
  TopicPartition,
  TopicPartitionOffset,
} from '../types.ts';
import { toLogError } from './errors.ts';

export interface KafkaConsumerSettings {
  retry: RetryOptions;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Fetch long-poll: how long the broker holds an empty fetch (Kafka's fetch.max.wait.ms; Java's default is 500). */
  maxWaitTimeMs: number;
  /** Bytes one fetch may bring per partition; with maxBatchRecords this bounds what one member holds in memory. */
  maxBytesPerPartition: number;
  maxBytes: number;
  /** Partitions whose batches are handled at the same time (batches of one partition never overlap). */
  partitionsConsumedConcurrently: number;
  /** First and longest wait before a batch whose handler failed is delivered again. */
  handlerRetryInitialMs: number;
  handlerRetryMaxMs: number;
}

const DEFAULT_MAX_BATCH_RECORDS = 500; // Kafka's max.poll.records

interface BackoffEntry {
  readonly partition: TopicPartition;
  readonly attempt: number;
  /** Set while the partition waits out its backoff; null once it may be fetched again. */
  timer: NodeJS.Timeout | null;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

function toHeaders(headers: KafkaMessage['headers']): Headers {
  const out: Headers = {};
  if (!headers) return out;
  // for…in rather than Object.entries: this runs once per consumed record.
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    // Kafka allows a header name to repeat; the Log contract has one value per name, the last one wins.
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last === undefined) continue;
    out[name] = typeof last === 'string' ? Buffer.from(last) : last;
  }
  return out;
}

function toRecords(topic: string, partition: number, messages: KafkaMessage[], start: number, end: number): LogRecord[] {
  const records = new Array<LogRecord>(end - start);
  for (let i = start; i < end; i++) {
    const m = messages[i]!;
    records[i - start] = {
      topic,
      partition,
      offset: Number(m.offset),
      key: m.key ?? null,
      value: m.value ?? null,
      headers: toHeaders(m.headers),
      timestamp: Number(m.timestamp),
    };
  }
  return records;
}

/**
 * A Log consumer on a kafkajs consumer group: autoCommit off, eachBatch split into RecordBatches of at most
 * maxBatchRecords, offsets resolved in kafkajs only after the handler succeeded (so a failed or unhandled rest of a
 * fetch is fetched again), commits only through commit().
 */
export class KafkaConsumer implements Consumer {
  private consumer: KafkaJsConsumer | null = null;
  private handler: BatchHandler | null = null;
  private readonly listeners = new Set<(event: ConsumerEvent) => void>();
  private assigned = new Map<string, TopicPartition>();
  private readonly maxBatchRecords: number;
  private stopping = false;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** pause() with no partitions pauses whole topics, which also covers partitions assigned later. */
  private pausedAll = false;
  private readonly pausedPartitions = new Map<string, TopicPartition>();
  /** Partitions waiting out the backoff after a handler failure. */
  private readonly backoff = new Map<string, BackoffEntry>();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: ConsumerOptions,
    private readonly settings: KafkaConsumerSettings,
    private readonly logger: Logger,
    private readonly onStopped: (consumer: KafkaConsumer) => void,
  ) {
    this.maxBatchRecords = options.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS;
    if (!Number.isInteger(this.maxBatchRecords) || this.maxBatchRecords < 1) {
      throw new TributaryError('ArgumentInvalid', `maxBatchRecords must be a positive integer, got ${options.maxBatchRecords}.`);
    }
  }

  async start(handler: BatchHandler): Promise<void> {
    if (this.stopped || this.stopping) throw new TributaryError('LogClosed', `Consumer of group ${this.options.groupId} was stopped; create a new one.`);
    if (this.handler) throw new TributaryError('InvalidOperation', `Consumer of group ${this.options.groupId} is already started.`);
    this.handler = handler;
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: this.settings.sessionTimeoutMs,
      heartbeatInterval: this.settings.heartbeatIntervalMs,
      maxWaitTimeInMs: this.settings.maxWaitTimeMs,
      maxBytesPerPartition: this.settings.maxBytesPerPartition,
      maxBytes: this.settings.maxBytes,
      // kafkajs restarts a crashed consumer only for retriable errors unless told otherwise; a consumer that stays
      // dead would stall its partitions silently, so always restart (with kafkajs' backoff) unless we are stopping.
      retry: { ...this.settings.retry, restartOnFailure: async () => !this.stopping },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => this.onGroupJoin(event.payload.memberAssignment));
    consumer.on(consumer.events.CRASH, (event) => {
      const error = toLogError(event.payload.error, `consumer of group ${this.options.groupId}`);
      this.logger.error({ err: error, groupId: this.options.groupId, restart: event.payload.restart }, 'consumer crashed');
      this.setAssignment([]);
      this.emit({ type: 'error', error });
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.fromBeginning ?? false });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.settings.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.eachBatch(payload),
      });
    } catch (err) {
      this.handler = null;
      this.consumer = null;
      await consumer.disconnect().catch(() => undefined);
      throw toLogError(err, `start of consumer group ${this.options.groupId}`);
    }
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    if (!this.consumer || this.stopped) {
      throw new TributaryError('LogClosed', `Consumer of group ${this.options.groupId} is not running; its uncommitted records will be delivered again.`);
    }
    try {
      await this.consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })));
    } catch (err) {
      throw toLogError(err, `commit for group ${this.options.groupId}`);
    }
  }

  pause(partitions?: TopicPartition[]): void {
    if (partitions === undefined) {
      this.pausedAll = true;
      this.pausedPartitions.clear();
    } else {
      for (const p of partitions) this.pausedPartitions.set(key(p.topic, p.partition), p);
    }
    this.applyPauses();
  }

  resume(partitions?: TopicPartition[]): void {
    if (partitions === undefined) {
      this.pausedAll = false;
      this.pausedPartitions.clear();
      this.tryKafka((c) => c.resume(this.options.topics.map((topic) => ({ topic }))));
    } else {
      for (const p of partitions) this.pausedPartitions.delete(key(p.topic, p.partition));
      if (this.pausedAll) {
        // Resuming single partitions out of a paused-everything state: pause the rest one by one instead.
        this.pausedAll = false;
        const keep = new Set(partitions.map((p) => key(p.topic, p.partition)));
        for (const [k, p] of this.assigned) if (!keep.has(k)) this.pausedPartitions.set(k, p);
        this.tryKafka((c) => c.resume(this.options.topics.map((topic) => ({ topic }))));
      }
      this.tryKafka((c) => c.resume(groupByTopic(partitions.filter((p) => !this.inBackoff(p.topic, p.partition)))));
    }
    this.applyPauses();
  }

  assignment(): TopicPartition[] {
    return [...this.assigned.values()];
  }

  on(listener: (event: ConsumerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopping = true;
    // Let the batches in flight finish (their handlers may still commit), then leave the group.
    await Promise.allSettled([...this.inFlight]);
    for (const k of [...this.backoff.keys()]) this.clearBackoff(k);
    const consumer = this.consumer;
    this.consumer = null;
    if (consumer) {
      try {
        await consumer.disconnect();
      } catch (err) {
        this.logger.warn({ err, groupId: this.options.groupId }, 'consumer did not leave its group cleanly');
      }
    }
    this.stopped = true;
    this.setAssignment([]);
    this.onStopped(this);
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const messages = batch.messages;
    for (let start = 0; start < messages.length; start += this.maxBatchRecords) {
      // Stop handing out records the moment the partition is paused, revoked or the consumer stops: what was not
      // resolved is fetched again from the last resolved offset, so nothing is skipped.
      if (this.stopping || !isRunning() || isStale() || this.isPaused(topic, partition)) return;
      const end = Math.min(start + this.maxBatchRecords, messages.length);
      const records = toRecords(topic, partition, messages, start, end);
      const last = messages[end - 1]!;
      const recordBatch: RecordBatch = { topic, partition, records, nextOffset: Number(last.offset) + 1 };
      const ok = await this.runHandler(recordBatch, heartbeat);
      if (!ok) return;
      resolveOffset(last.offset);
      if (this.backoff.size > 0) this.clearBackoff(key(topic, partition));
      // Rebalance errors thrown here are meant for kafkajs: it re-joins the group and fetches again.
      await heartbeat();
    }
  }

  /** Runs the handler; on failure logs, emits, and pauses the partition for a backoff. Returns whether it succeeded. */
  private async runHandler(batch: RecordBatch, heartbeat: () => Promise<void>): Promise<boolean> {
    const handler = this.handler!;
    // A slow handler must not cost the group membership: heartbeat in the background while it runs (kafkajs only
    // heartbeats between batches). Rebalance errors are picked up by the heartbeat after the handler.
    const beat = setInterval(() => heartbeat().catch(() => undefined), this.settings.heartbeatIntervalMs);
    const run = handler(batch);
    const tracked = run.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(tracked);
    try {
      await run;
      return true;
    } catch (err) {
      this.scheduleRedelivery(batch, err);
      return false;
    } finally {
      clearInterval(beat);
      this.inFlight.delete(tracked);
    }
  }

  private scheduleRedelivery(batch: RecordBatch, err: unknown): void {
    const k = key(batch.topic, batch.partition);
    const attempt = (this.backoff.get(k)?.attempt ?? 0) + 1;
    const delay = Math.min(this.settings.handlerRetryInitialMs * 2 ** (attempt - 1), this.settings.handlerRetryMaxMs);
    const error = err instanceof Error ? err : new Error(String(err));
    this.logger.warn(
      { err: error, groupId: this.options.groupId, topic: batch.topic, partition: batch.partition, offset: batch.records[0]?.offset, attempt, retryInMs: delay },
      'batch handler failed; the batch will be delivered again after a backoff',
    );
    this.emit({ type: 'error', error });
    const tp = { topic: batch.topic, partition: batch.partition };
    // Pausing (rather than sleeping inside eachBatch) keeps the other partitions of this member flowing; the entry
    // stays after the timer fires (timer = null) so the next failure waits longer, and goes on the first success.
    const entry: BackoffEntry = { partition: tp, attempt, timer: null };
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (this.stopping || this.userPaused(tp.topic, tp.partition)) return;
      this.tryKafka((c) => c.resume([{ topic: tp.topic, partitions: [tp.partition] }]));
    }, delay);
    this.backoff.set(k, entry);
    this.applyPauses();
  }

  private clearBackoff(k: string): void {
    const entry = this.backoff.get(k);
    if (entry?.timer) clearTimeout(entry.timer);
    this.backoff.delete(k);
  }

  private inBackoff(topic: string, partition: number): boolean {
    return (this.backoff.get(key(topic, partition))?.timer ?? null) !== null;
  }

  private userPaused(topic: string, partition: number): boolean {
    return this.pausedAll || this.pausedPartitions.has(key(topic, partition));
  }

  private isPaused(topic: string, partition: number): boolean {
    return this.userPaused(topic, partition) || this.inBackoff(topic, partition);
  }

  /**
   * Pushes our pause state into kafkajs. It lives in kafkajs' ConsumerGroup, which a crash/restart replaces, so it is
   * applied again on every join. A topic-wide pause goes alone: kafkajs turns a topic-wide pause into a per-partition
   * one as soon as single partitions of that topic are paused.
   */
  private applyPauses(): void {
    if (this.pausedAll) {
      this.tryKafka((c) => c.pause(this.options.topics.map((topic) => ({ topic }))));
      return;
    }
    const parts = [...this.pausedPartitions.values()];
    for (const b of this.backoff.values()) if (b.timer !== null) parts.push(b.partition);
    if (parts.length > 0) this.tryKafka((c) => c.pause(groupByTopic(parts)));
  }

  private onGroupJoin(memberAssignment: Record<string, number[]>): void {
    const next: TopicPartition[] = [];
    for (const [topic, partitions] of Object.entries(memberAssignment)) for (const partition of partitions) next.push({ topic, partition });
    this.setAssignment(next);
    this.applyPauses();
  }

  private setAssignment(next: TopicPartition[]): void {
    const nextMap = new Map(next.map((p) => [key(p.topic, p.partition), p]));
    const revoked = [...this.assigned].filter(([k]) => !nextMap.has(k)).map(([, p]) => p);
    const added = [...nextMap].filter(([k]) => !this.assigned.has(k)).map(([, p]) => p);
    this.assigned = nextMap;
    for (const p of revoked) this.clearBackoff(key(p.topic, p.partition));
    if (revoked.length > 0) this.emit({ type: 'revoked', partitions: revoked });
    if (added.length > 0) {
      this.logger.info({ groupId: this.options.groupId, partitions: added }, 'partitions assigned');
      this.emit({ type: 'assigned', partitions: added });
    }
  }

  private tryKafka(fn: (consumer: KafkaJsConsumer) => void): void {
    if (!this.consumer) return;
    try {
      fn(this.consumer);
    } catch {
      // kafkajs refuses pause/resume between a crash and the restart; applyPauses() runs again on the next join.
    }
  }

  private emit(event: ConsumerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.warn({ err }, 'consumer event listener threw');
      }
    }
  }
}

function groupByTopic(partitions: TopicPartition[]): { topic: string; partitions: number[] }[] {
  const byTopic = new Map<string, number[]>();
  for (const p of partitions) {
    const list = byTopic.get(p.topic);
    if (list) list.push(p.partition);
    else byTopic.set(p.topic, [p.partition]);
  }
  return [...byTopic].map(([topic, list]) => ({ topic, partitions: list }));
}
