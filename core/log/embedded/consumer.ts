/**
 * A consumer-group member of EmbeddedLog: joins the in-process group coordinator, runs one PartitionFetcher per
 * assigned partition, and commits through the offset store. Commits are explicit (the Log contract commits only
 * after the work is durable), so whatever was handled but not committed is delivered again after stop/restart.
 */
import { TributaryError } from '../../errors/index.ts';
import { componentLogger, type Logger } from '../../logging/logger.ts';
import { PartitionFetcher, handlerScope } from './partition-fetcher.ts';
import type { GroupCoordinator, GroupMember } from './group-coordinator.ts';
import type { OffsetStore } from './offset-store.ts';
import type { PartitionLog } from './partition-log.ts';
import type {
  BatchHandler,
  Consumer,
  ConsumerEvent,
  ConsumerOptions,
  TopicPartition,
  TopicPartitionOffset,
} from '../types.ts';

/** What a consumer needs from the log that created it. */
export interface ConsumerHost {
  readonly coordinator: GroupCoordinator;
  readonly offsets: OffsetStore;
  partitionLog(topic: string, partition: number): PartitionLog | undefined;
  partitionCount(topic: string): number | undefined;
  assertOpen(): void;
  /** Called when the consumer has left its group for good (the log stops tracking it). */
  forget(consumer: EmbeddedConsumer): void;
}

export interface ConsumerTuning {
  defaultMaxBatchRecords: number;
  maxBatchBytes: number;
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
}

const key = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

export class EmbeddedConsumer implements Consumer, GroupMember {
  readonly topics: readonly string[];
  readonly #options: ConsumerOptions;
  readonly #host: ConsumerHost;
  readonly #tuning: ConsumerTuning;
  readonly #logger: Logger;
  readonly #fetchers = new Map<string, { tp: TopicPartition; fetcher: PartitionFetcher }>();
  readonly #paused = new Set<string>();
  readonly #listeners = new Set<(event: ConsumerEvent) => void>();
  #handler: BatchHandler | undefined;
  #state: 'new' | 'running' | 'stopped' = 'new';
  #stopping: Promise<void> | undefined;
  /** stop() was called from inside our own handler: revoking must not wait for that handler (it waits for us). */
  #noWait = false;

  constructor(options: ConsumerOptions, host: ConsumerHost, tuning: ConsumerTuning) {
    if (!options.groupId) throw new TributaryError('ArgumentInvalid', 'ConsumerOptions.groupId is required.');
    if (options.topics.length === 0) throw new TributaryError('ArgumentInvalid', `Consumer of group ${options.groupId} subscribes to no topics; pass at least one.`);
    const max = options.maxBatchRecords ?? tuning.defaultMaxBatchRecords;
    if (!Number.isInteger(max) || max < 1) throw new TributaryError('ArgumentInvalid', `maxBatchRecords must be a positive integer, got ${max}.`);
    this.topics = [...new Set(options.topics)];
    this.#options = { ...options, maxBatchRecords: max };
    this.#host = host;
    this.#tuning = tuning;
    this.#logger = componentLogger('embedded-log', { groupId: options.groupId });
  }

  async start(handler: BatchHandler): Promise<void> {
    this.#host.assertOpen();
    if (this.#state !== 'new') throw new TributaryError('InvalidOperation', `Consumer of group ${this.#options.groupId} was already started; create a new consumer.`);
    for (const topic of this.topics) {
      if (this.#host.partitionCount(topic) === undefined) {
        throw new TributaryError('TopicNotFound', `Topic ${topic} does not exist; create it with createTopics before consuming.`);
      }
    }
    this.#handler = handler;
    this.#state = 'running';
    await this.#host.coordinator.join(this.#options.groupId, this);
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    this.#host.assertOpen();
    for (const { topic, partition, offset } of offsets) {
      const count = this.#host.partitionCount(topic);
      if (count === undefined) throw new TributaryError('TopicNotFound', `Cannot commit for topic ${topic}: it does not exist.`);
      if (!Number.isInteger(partition) || partition < 0 || partition >= count || !Number.isInteger(offset) || offset < 0) {
        throw new TributaryError('ArgumentInvalid', `Cannot commit ${topic}/${partition}@${offset}: partition must be in 0..${count - 1} and offset a non-negative integer.`);
      }
    }
    try {
      await this.#host.offsets.commit(this.#options.groupId, offsets);
    } catch (err) {
      throw new TributaryError('LogUnavailable', `Could not persist committed offsets of group ${this.#options.groupId}: ${(err as Error).message}. Check the data dir's disk space and permissions.`, { cause: err });
    }
  }

  pause(partitions?: TopicPartition[]): void {
    for (const tp of partitions ?? this.assignment()) {
      this.#paused.add(key(tp));
      this.#fetchers.get(key(tp))?.fetcher.setPaused(true);
    }
  }

  resume(partitions?: TopicPartition[]): void {
    const keys = partitions ? partitions.map(key) : [...this.#paused];
    for (const k of keys) {
      this.#paused.delete(k);
      this.#fetchers.get(k)?.fetcher.setPaused(false);
    }
  }

  assignment(): TopicPartition[] {
    return [...this.#fetchers.values()].map(({ tp }) => tp);
  }

  on(listener: (event: ConsumerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stop(): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      this.#host.forget(this);
    }
    if (this.#state !== 'running') return this.#stopping ?? Promise.resolve();
    this.#state = 'stopped';
    // Called from inside one of our own handlers: do not wait for that handler (it is waiting for us).
    this.#noWait = handlerScope.getStore() === this;
    this.#stopping = (async () => {
      await this.#host.coordinator.leave(this.#options.groupId, this);
      this.#host.forget(this);
    })();
    return this.#stopping;
  }

  /** GroupMember: the coordinator hands us partitions; start fetching each from the group's committed offset. */
  assign(partitions: TopicPartition[]): void {
    const handler = this.#handler;
    if (!handler) return;
    const started: TopicPartition[] = [];
    for (const tp of partitions) {
      const partitionLog = this.#host.partitionLog(tp.topic, tp.partition);
      if (!partitionLog) continue;
      const fetcher = new PartitionFetcher({
        partitionLog,
        handler,
        owner: this,
        startPosition: this.#host.offsets.committed(this.#options.groupId, tp.topic, tp.partition),
        fromBeginning: this.#options.fromBeginning ?? false,
        maxBatchRecords: this.#options.maxBatchRecords!,
        maxBatchBytes: this.#tuning.maxBatchBytes,
        retryBackoffMs: this.#tuning.retryBackoffMs,
        maxRetryBackoffMs: this.#tuning.maxRetryBackoffMs,
        onError: (error) => this.#emit({ type: 'error', error }),
        logger: this.#logger,
      });
      if (this.#paused.has(key(tp))) fetcher.setPaused(true);
      this.#fetchers.set(key(tp), { tp, fetcher });
      fetcher.start();
      started.push(tp);
    }
    if (started.length > 0) {
      this.#logger.debug({ partitions: started }, 'partitions assigned');
      this.#emit({ type: 'assigned', partitions: started });
    }
  }

  /** GroupMember: stop fetching the partitions; resolves after their in-flight batches finish. */
  async revoke(partitions: TopicPartition[]): Promise<void> {
    const stopping: Promise<void>[] = [];
    const revoked: TopicPartition[] = [];
    for (const tp of partitions) {
      const entry = this.#fetchers.get(key(tp));
      if (!entry) continue;
      this.#fetchers.delete(key(tp));
      this.#paused.delete(key(tp));
      stopping.push(entry.fetcher.stop(!this.#noWait));
      revoked.push(tp);
    }
    await Promise.all(stopping);
    if (revoked.length > 0) {
      this.#logger.debug({ partitions: revoked }, 'partitions revoked');
      this.#emit({ type: 'revoked', partitions: revoked });
    }
  }

  #emit(event: ConsumerEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#logger.warn({ err }, 'consumer event listener threw');
      }
    }
  }
}
