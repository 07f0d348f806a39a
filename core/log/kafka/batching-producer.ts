import type { Message, RecordMetadata as KafkaRecordMetadata, TopicMessages } from 'kafkajs';
import { TributaryError } from '../../errors/index.ts';
import type { Logger } from '../../logging/logger.ts';
import type { ProduceRecord, RecordMetadata } from '../types.ts';
import { logClosedError, toLogError } from './errors.ts';

/** How one topic's records are spread: the partition count and the choice for a key (same key → same partition). */
export interface TopicRoute {
  readonly partitions: number;
  choose(key: Buffer | null): number;
}

export interface BatchingProducerOptions {
  /** How long the first record of a batch waits for company (Kafka's linger.ms; the Java client's default is 5). */
  lingerMs: number;
  /** Flush at once when this many bytes are waiting (Kafka's batch.size, but per request). */
  batchBytes: number;
  /** Flush at once when this many records are waiting. */
  batchRecords: number;
  /**
   * Upper bound on one partition's records in one request. The broker checks each partition's record batch against
   * message.max.bytes (1 MiB by default), so two 600 KB records of one partition must go in separate requests.
   */
  maxPartitionBytes: number;
  /** Upper bound on one request (socket.request.max.bytes is 100 MiB on the broker; keep requests far smaller). */
  maxRequestBytes: number;
}

export interface BatchingProducerDeps {
  /** One produce request per call: kafkajs `producer.sendBatch` with acks=-1 and the configured compression. */
  send(topicMessages: TopicMessages[]): Promise<KafkaRecordMetadata[]>;
  /** The route of a topic (cached by the caller); rejects with TopicNotFound for a missing topic. */
  route(topic: string): TopicRoute | Promise<TopicRoute>;
  /** Told when the broker says a topic of a failed request does not exist (deleted since its route was cached). */
  onTopicMissing?(topics: string[]): void;
  logger: Logger;
}

/** One produce() call: resolved once every one of its records is acknowledged, rejected at the first failure. */
interface PendingCall {
  readonly results: RecordMetadata[];
  remaining: number;
  settled: boolean;
  resolve(metadata: RecordMetadata[]): void;
  reject(err: Error): void;
}

interface PendingRecord {
  readonly topic: string;
  readonly message: Message & { partition: number };
  readonly bytes: number;
  readonly call: PendingCall;
  readonly index: number;
}

/** Bytes a record takes on the wire, roughly: the v2 record format adds ~20 bytes of varints per record. */
const RECORD_OVERHEAD = 24;

function byteLength(value: Buffer | string | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/**
 * Coalesces concurrent `produce()` calls into one `sendBatch` per linger window (or sooner when a size threshold is
 * reached), with at most one request in flight: while one is on the wire the next one fills up, which is where the
 * batching comes from under load. kafkajs' idempotent producer holds a per-broker lock around each request anyway
 * (eosManager.acquireBrokerLock), so a second request in flight would only wait on that lock with fewer records.
 *
 * Order: records leave in the order produce() was called, each partition's records keep that order inside a
 * request, and requests go one after another, so per-key order holds; the idempotent producer keeps it across
 * retries (sequence numbers).
 */
export class BatchingProducer {
  private queue: PendingRecord[] = [];
  private queuedBytes = 0;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Counts requests, for the tests and the benchmark (coalescing means far fewer requests than produce calls). */
  requests = 0;

  constructor(
    private readonly options: BatchingProducerOptions,
    private readonly deps: BatchingProducerDeps,
  ) {}

  async produce(topic: string, records: ProduceRecord[]): Promise<RecordMetadata[]> {
    if (this.closed) throw logClosedError('produce');
    if (records.length === 0) return [];
    const routeOrPromise = this.deps.route(topic);
    const route = routeOrPromise instanceof Promise ? await routeOrPromise : routeOrPromise;
    if (this.closed) throw logClosedError('produce');

    let call!: PendingCall;
    const done = new Promise<RecordMetadata[]>((resolve, reject) => {
      call = { results: new Array<RecordMetadata>(records.length), remaining: records.length, settled: false, resolve, reject };
    });
    // Build every message first: a bad partition number rejects the whole call before anything is queued.
    const pending: PendingRecord[] = [];
    for (let index = 0; index < records.length; index++) {
      const record = records[index]!;
      const key = typeof record.key === 'string' ? Buffer.from(record.key) : (record.key ?? null);
      const partition = record.partition ?? route.choose(key);
      if (!Number.isInteger(partition) || partition < 0 || partition >= route.partitions) {
        throw new TributaryError(
          'ArgumentInvalid',
          `Partition ${partition} does not exist in topic ${topic} (it has ${route.partitions}); omit partition to derive it from the key.`,
        );
      }
      const message: Message & { partition: number } = { key, value: record.value, partition };
      let bytes = RECORD_OVERHEAD + byteLength(key) + byteLength(record.value);
      if (record.headers) {
        message.headers = record.headers;
        for (const [name, value] of Object.entries(record.headers)) bytes += name.length + byteLength(value) + 4;
      }
      if (record.timestamp !== undefined) message.timestamp = String(record.timestamp);
      pending.push({ topic, message, bytes, call, index });
    }
    for (const p of pending) {
      this.queue.push(p);
      this.queuedBytes += p.bytes;
    }
    this.schedule();
    return done;
  }

  /** Sends everything queued and waits until it is acknowledged (or failed). */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight) {
      if (this.inFlight) await this.inFlight;
      else this.sendNext();
    }
  }

  /** Rejects further produce() calls and flushes what is queued. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /** Fails every queued record (used when close() gives up on an unreachable broker). */
  abort(err: Error): void {
    const queued = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const p of queued) settle(p.call, err);
  }

  private schedule(): void {
    if (this.inFlight) return; // the completion of the request on the wire sends the next one
    if (this.queuedBytes >= this.options.batchBytes || this.queue.length >= this.options.batchRecords) {
      this.sendNext();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        if (!this.inFlight) this.sendNext();
      }, this.options.lingerMs);
    }
  }

  /** Takes the longest prefix of the queue that fits the request and partition bounds, and sends it. */
  private sendNext(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.queue.length === 0) return;
    // Per topic, bytes per partition (arrays indexed by partition: no string keys on this per-record path).
    const partitionBytes = new Map<string, number[]>();
    let requestBytes = 0;
    let count = 0;
    for (const p of this.queue) {
      let perPartition = partitionBytes.get(p.topic);
      if (!perPartition) partitionBytes.set(p.topic, (perPartition = []));
      const inPartition = perPartition[p.message.partition] ?? 0;
      // Always take at least one record, so a record over the bounds goes alone and the broker judges it.
      if (count > 0 && (inPartition + p.bytes > this.options.maxPartitionBytes || requestBytes + p.bytes > this.options.maxRequestBytes)) break;
      perPartition[p.message.partition] = inPartition + p.bytes;
      requestBytes += p.bytes;
      count++;
    }
    const chunk = this.queue.splice(0, count);
    this.queuedBytes -= requestBytes;
    this.inFlight = this.sendChunk(chunk).finally(() => {
      this.inFlight = null;
      // Records that arrived while the request was on the wire have waited at least that long: send them now.
      if (this.queue.length > 0) this.sendNext();
    });
  }

  private async sendChunk(chunk: PendingRecord[]): Promise<void> {
    const byTopic = new Map<string, PendingRecord[]>();
    for (const p of chunk) {
      const list = byTopic.get(p.topic);
      if (list) list.push(p);
      else byTopic.set(p.topic, [p]);
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, list]) => ({ topic, messages: list.map((p) => p.message) }));
    this.requests++;
    let acks: KafkaRecordMetadata[];
    try {
      acks = await this.deps.send(topicMessages);
    } catch (err) {
      const error = toLogError(err, `produce of ${chunk.length} records to ${[...byTopic.keys()].join(', ')}`);
      this.deps.logger.warn({ err: error, records: chunk.length }, 'produce request failed');
      if (error.code === 'TopicNotFound') this.deps.onTopicMissing?.([...byTopic.keys()]);
      for (const p of chunk) settle(p.call, error);
      return;
    }
    // kafkajs groups a request's messages per partition in the order given and answers with each partition's base
    // offset, so record i of a partition got baseOffset + i.
    const next = new Map<string, number[]>();
    for (const ack of acks) {
      let perPartition = next.get(ack.topicName);
      if (!perPartition) next.set(ack.topicName, (perPartition = []));
      perPartition[ack.partition] = Number(ack.baseOffset);
    }
    for (const p of chunk) {
      const perPartition = next.get(p.topic);
      const offset = perPartition?.[p.message.partition];
      if (perPartition === undefined || offset === undefined) {
        settle(p.call, new TributaryError('LogUnavailable', `Kafka did not acknowledge partition ${p.message.partition} of ${p.topic}; retry the produce.`));
        continue;
      }
      perPartition[p.message.partition] = offset + 1;
      if (p.call.settled) continue;
      p.call.results[p.index] = { topic: p.topic, partition: p.message.partition, offset };
      if (--p.call.remaining === 0) {
        p.call.settled = true;
        p.call.resolve(p.call.results);
      }
    }
  }
}

function settle(call: PendingCall, err: Error): void {
  if (call.settled) return;
  call.settled = true;
  call.reject(err);
}
