import type { TSchema } from '@sinclair/typebox';
import type { Consumer, Log, LogRecord, RecordBatch, TopicPartition } from '../../core/log/types.ts';
import { componentLogger, type Logger } from '../../core/logging/logger.ts';
import { toTributaryError, type TributaryError } from '../../core/errors/index.ts';
import { counter, gauge, histogram } from '../../core/metrics/registry.ts';
import { backoffDelay, sleep } from '../../core/runtime/backoff.ts';
import { DEAD_LETTER_TOPIC, deadLetterRecord } from '../../core/runtime/dead-letter.ts';
import { validateOptions } from '../../core/runtime/validate-options.ts';
import type { AvroSerde } from '../../core/serde/index.ts';
import { SinkError, type BatchLimits, type ConnectorDefinition } from './define-connector.ts';

export interface RunConnectorOptions extends Partial<BatchLimits> {
  log: Log;
  /** Encodes dead letters (and is handed to the component for its own records). */
  serde: AvroSerde;
  /** Topics to drain into the sink (e.g. `iot.route.<endpoint>`). */
  topics: string[];
  config?: unknown;
  /** Defaults to `tributary-connector-<name>`. */
  groupId?: string;
  /** The `connector` label of the metrics; defaults to the definition's name (the supervisor passes the endpoint). */
  metricsLabel?: string;
  /** How often consumer lag is sampled from the log's end and committed offsets (default 10 s; 0 turns it off). */
  lagIntervalMs?: number;
  /** On stop, how long buffered records may take to be written before they are left for the next owner (default 5 s). */
  drainTimeoutMs?: number;
  logger?: Logger;
}

export interface RunningConnector {
  readonly groupId: string;
  /** For health endpoints and tests: whether the sink is failing (partitions paused) and how much is buffered. */
  status(): { sinkDown: boolean; bufferedRecords: number; bufferedBytes: number };
  stop(): Promise<void>;
}

/** ClickHouse-sized by default: it wants few large inserts; sinks that want less say so in `batching`. */
export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxBatchRecords: 5000, maxBatchBytes: 16 * 1024 * 1024, maxBatchWaitMs: 1000 };

const recordsTotal = counter('tributary_connector_records_total', 'Records by connector and outcome (written, dead_lettered).', ['connector', 'outcome']);
const retriesTotal = counter('tributary_connector_write_retries_total', 'writeBatch attempts that failed with a retriable error.', ['connector']);
const errorsTotal = counter('tributary_connector_errors_total', 'Failed writeBatch calls and dead-letter writes, by error code.', ['connector', 'code']);
const writeSeconds = histogram('tributary_connector_write_duration_seconds', 'Duration of successful writeBatch calls.', ['connector']);
const batchSeconds = histogram('tributary_connector_batch_latency_seconds', 'From the first record of a batch being buffered to its offsets being committed.', ['connector']);
const batchRecords = histogram('tributary_connector_batch_records', 'Records per writeBatch call.', ['connector'], [1, 10, 50, 100, 500, 1000, 5000, 20000]);
const lagRecords = gauge('tributary_connector_lag_records', 'Records of a partition not yet committed by the connector group (end offset - committed offset).', ['connector', 'topic', 'partition']);
const sinkDownGauge = gauge('tributary_connector_sink_down', '1 while the sink fails retriably and the connector\'s partitions are paused.', ['connector']);

const byteSize = (r: LogRecord) => (r.value?.length ?? 0) + (r.key?.length ?? 0);

/** Records of one partition waiting for their writeBatch, oldest first. One flusher at a time keeps commits in order. */
interface PartitionBuffer {
  readonly tp: TopicPartition;
  records: LogRecord[];
  bytes: number;
  /** performance.now() when the oldest buffered record arrived. */
  since: number;
  timer: NodeJS.Timeout | undefined;
  flushing: Promise<void> | undefined;
  /** The wait expired (or the runtime drains): write what is buffered even below the limits. */
  due: boolean;
  revoked: boolean;
}

/**
 * Drains topics into a sink with at-least-once semantics (DESIGN.md §4, §6; issue #7 item 6):
 * - records of one partition accumulate across consumer batches up to maxBatchRecords / maxBatchBytes or until the
 *   oldest waited maxBatchWaitMs, then go to `writeBatch` in offset order; the offset after a batch is committed only
 *   once it was written (and its dead letters acknowledged), batch after batch, so a commit never covers unwritten work;
 * - a retriable failure is retried with capped exponential backoff, never skipped, and pauses every partition of the
 *   consumer until a write succeeds again — a sink outage holds at most one batch (plus one consumer batch) per
 *   partition in memory, the rest waits in the log;
 * - a permanent failure dead-letters exactly the records the sink names; the partition goes on.
 * Buffered records are the consumer's own memory: a revoked partition drops them (its next owner reads them again
 * from the committed offset) and nothing is ever dropped otherwise.
 */
export async function runConnector<S extends TSchema>(definition: ConnectorDefinition<S>, options: RunConnectorOptions): Promise<RunningConnector> {
  const name = definition.name;
  const label = options.metricsLabel ?? name;
  const config = validateOptions(`connector ${name}`, definition.configSchema, options.config);
  const wanted = typeof definition.batching === 'function' ? definition.batching(config) : definition.batching;
  const limits: BatchLimits = {
    maxBatchRecords: options.maxBatchRecords ?? wanted?.maxBatchRecords ?? DEFAULT_BATCH_LIMITS.maxBatchRecords,
    maxBatchBytes: options.maxBatchBytes ?? wanted?.maxBatchBytes ?? DEFAULT_BATCH_LIMITS.maxBatchBytes,
    maxBatchWaitMs: options.maxBatchWaitMs ?? wanted?.maxBatchWaitMs ?? DEFAULT_BATCH_LIMITS.maxBatchWaitMs,
  };
  const logger = options.logger ?? componentLogger('connector', { connector: label });
  const sink = await definition.create(config, { logger, serde: options.serde, log: options.log });
  try {
    await sink.connect();
  } catch (err) {
    // Whatever connect opened before failing (a pool, a socket) is released; the caller may try again later.
    await sink.close().catch(() => undefined);
    throw err;
  }
  const groupId = options.groupId ?? `tributary-connector-${name}`;
  // One consumer batch never exceeds one sink batch, so a partition buffers less than two batches.
  const consumer: Consumer = options.log.consumer({ groupId, topics: options.topics, fromBeginning: true, maxBatchRecords: limits.maxBatchRecords });
  const stopping = new AbortController();
  let closing = false;
  const buffers = new Map<string, PartitionBuffer>();
  const keyOf = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

  let sinkDown: TributaryError | undefined;
  /** Handlers waiting on a flush; released when the sink goes down so they stop holding their partitions. */
  const downWaiters = new Set<() => void>();
  function sinkFailing(error: TributaryError): void {
    if (sinkDown) return;
    sinkDown = error;
    consumer.pause();
    sinkDownGauge.set({ connector: label }, 1);
    logger.warn({ err: error, code: error.code }, 'sink failing; partitions paused until a write succeeds');
    for (const release of downWaiters) release();
    downWaiters.clear();
  }
  function sinkRecovered(): void {
    if (!sinkDown) return;
    sinkDown = undefined;
    consumer.resume();
    sinkDownGauge.set({ connector: label }, 0);
    logger.info('sink writes again; partitions resumed');
  }

  /** Retries `fn` until it resolves or the runtime stops (false) — for the dead-letter produce, whose loss is not an option. */
  async function untilDone(what: string, fn: () => Promise<unknown>, buffer: PartitionBuffer): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (stopping.signal.aborted || buffer.revoked) return false;
      try {
        await fn();
        return true;
      } catch (err) {
        const error = toTributaryError(err, 'LogUnavailable');
        errorsTotal.inc({ connector: label, code: error.code });
        logger.warn({ err: error, attempt }, `${what} failed; retrying`);
        await sleep(backoffDelay(attempt), stopping.signal);
      }
    }
  }

  /** Writes `records` (a prefix of the buffer); false when given up because the runtime stops or lost the partition. */
  async function write(buffer: PartitionBuffer, records: LogRecord[]): Promise<boolean> {
    const { topic, partition } = buffer.tp;
    for (let attempt = 0; ; attempt++) {
      if (stopping.signal.aborted || buffer.revoked) return false;
      try {
        const endTimer = writeSeconds.startTimer({ connector: label });
        await sink.writeBatch({ topic, partition, records });
        endTimer();
        batchRecords.observe({ connector: label }, records.length);
        recordsTotal.inc({ connector: label, outcome: 'written' }, records.length);
        sinkRecovered();
        return true;
      } catch (err) {
        const error = toTributaryError(err, 'SinkWriteFailed');
        errorsTotal.inc({ connector: label, code: error.code });
        if (error.retriable) {
          retriesTotal.inc({ connector: label });
          sinkFailing(error);
          const delay = backoffDelay(attempt);
          logger.warn({ err: error, attempt, delayMs: delay, topic, partition, records: records.length }, 'writeBatch failed; retrying');
          await sleep(delay, stopping.signal);
          continue;
        }
        // The sink answered, so it is up: whatever it rejected for good is the records' fault, not the sink's.
        sinkRecovered();
        const failed = error instanceof SinkError && error.failed ? error.failed : records.map((_, i) => i);
        const failedRecords = failed.flatMap((i) => (records[i] ? [records[i]] : []));
        const dead = await Promise.all(failedRecords.map((r) => deadLetterRecord(options.serde, r, error, `connector:${name}`, attempt + 1)));
        logger.warn({ err: error, code: error.code, deadLettered: dead.length, topic, partition }, 'records dead-lettered');
        if (dead.length > 0 && !(await untilDone('dead-letter produce', () => options.log.produce(DEAD_LETTER_TOPIC, dead), buffer))) return false;
        recordsTotal.inc({ connector: label, outcome: 'dead_lettered' }, dead.length);
        recordsTotal.inc({ connector: label, outcome: 'written' }, records.length - dead.length);
        return true;
      }
    }
  }

  const full = (b: PartitionBuffer) => b.records.length >= limits.maxBatchRecords || b.bytes >= limits.maxBatchBytes;

  /** Writes chunks from the front of the buffer while it is full (or due), committing after each. */
  async function flushLoop(buffer: PartitionBuffer): Promise<void> {
    while (buffer.records.length > 0 && (full(buffer) || buffer.due) && !buffer.revoked) {
      let n = 0;
      let bytes = 0;
      for (const r of buffer.records) {
        if (n >= limits.maxBatchRecords || (n > 0 && bytes + byteSize(r) > limits.maxBatchBytes)) break;
        bytes += byteSize(r);
        n++;
      }
      const chunk = buffer.records.slice(0, n);
      const since = buffer.since;
      if (!(await write(buffer, chunk))) return;
      if (buffer.revoked) return;
      buffer.records.splice(0, n);
      buffer.bytes -= bytes;
      buffer.since = performance.now();
      if (buffer.records.length === 0) buffer.due = false;
      try {
        await consumer.commit([{ topic: buffer.tp.topic, partition: buffer.tp.partition, offset: chunk.at(-1)!.offset + 1 }]);
        batchSeconds.observe({ connector: label }, (performance.now() - since) / 1000);
      } catch (err) {
        // Written but not committed: the next commit of this partition covers it; a restart before that rewrites it
        // (sinks are idempotent).
        logger.warn({ err, topic: buffer.tp.topic, partition: buffer.tp.partition }, 'commit after write failed');
      }
    }
  }

  function kick(buffer: PartitionBuffer): Promise<void> {
    buffer.flushing ??= flushLoop(buffer)
      .catch((err: unknown) => logger.error({ err, ...buffer.tp }, 'flush failed unexpectedly; buffered records are left for redelivery'))
      .finally(() => {
        buffer.flushing = undefined;
        if (!closing && !buffer.revoked) schedule(buffer);
      });
    return buffer.flushing;
  }

  function schedule(buffer: PartitionBuffer): void {
    if (buffer.records.length === 0 || buffer.timer || buffer.flushing) return;
    if (full(buffer)) {
      void kick(buffer);
      return;
    }
    const wait = Math.max(0, limits.maxBatchWaitMs - (performance.now() - buffer.since));
    buffer.timer = setTimeout(() => {
      buffer.timer = undefined;
      buffer.due = true;
      void kick(buffer);
    }, wait);
  }

  function drop(tp: TopicPartition): void {
    const buffer = buffers.get(keyOf(tp));
    if (!buffer) return;
    buffer.revoked = true;
    if (buffer.timer) clearTimeout(buffer.timer);
    buffers.delete(keyOf(tp));
    lagRecords.remove({ connector: label, topic: tp.topic, partition: String(tp.partition) });
  }

  async function handle(batch: RecordBatch): Promise<void> {
    // Stopping: leave the records uncommitted for the next owner rather than start writes we will not finish.
    if (closing || batch.records.length === 0) return;
    const tp = { topic: batch.topic, partition: batch.partition };
    let buffer = buffers.get(keyOf(tp));
    if (!buffer) {
      buffer = { tp, records: [], bytes: 0, since: performance.now(), timer: undefined, flushing: undefined, due: false, revoked: false };
      buffers.set(keyOf(tp), buffer);
    }
    if (buffer.records.length === 0) buffer.since = performance.now();
    for (const r of batch.records) {
      buffer.records.push(r);
      buffer.bytes += byteSize(r);
    }
    if (limits.maxBatchWaitMs === 0) buffer.due = true;
    if (!full(buffer) && !buffer.due) {
      schedule(buffer);
      return;
    }
    if (buffer.timer) clearTimeout(buffer.timer);
    buffer.timer = undefined;
    // Backpressure: while the sink keeps up, the partition's next batch waits for this write. Once it fails, the
    // partitions are paused and the handler returns, so a rebalance or stop never waits on a sink outage.
    const flushing = kick(buffer);
    if (sinkDown) return;
    await new Promise<void>((resolve) => {
      downWaiters.add(resolve);
      void flushing.finally(() => {
        downWaiters.delete(resolve);
        resolve();
      });
    });
  }

  const unsubscribe = consumer.on((event) => {
    if (event.type === 'revoked') for (const tp of event.partitions) drop(tp);
    // Embedded pause() covers the partitions assigned at the time only; keep new ones paused while the sink is down.
    if (event.type === 'assigned' && sinkDown) consumer.pause(event.partitions);
  });

  try {
    await consumer.start(handle);
  } catch (err) {
    unsubscribe();
    await sink.close().catch(() => undefined);
    throw err;
  }

  const lagInterval = options.lagIntervalMs ?? 10_000;
  const lagTimer = lagInterval > 0 ? setInterval(() => void sampleLag(), lagInterval) : undefined;
  lagTimer?.unref();
  async function sampleLag(): Promise<void> {
    const assigned = consumer.assignment();
    try {
      for (const topic of new Set(assigned.map((tp) => tp.topic))) {
        const [ends, committed] = await Promise.all([options.log.endOffsets(topic), options.log.committedOffsets(groupId, topic)]);
        const done = new Map(committed.map((c) => [c.partition, c.offset]));
        for (const end of ends) {
          if (!assigned.some((tp) => tp.topic === topic && tp.partition === end.partition)) continue;
          lagRecords.set({ connector: label, topic, partition: String(end.partition) }, Math.max(0, end.offset - (done.get(end.partition) ?? 0)));
        }
      }
    } catch (err) {
      logger.debug({ err }, 'lag sample failed');
    }
  }

  logger.info({ groupId, topics: options.topics, ...limits }, 'connector started');
  return {
    groupId,
    status() {
      let bufferedRecords = 0;
      let bufferedBytes = 0;
      for (const b of buffers.values()) {
        bufferedRecords += b.records.length;
        bufferedBytes += b.bytes;
      }
      return { sinkDown: sinkDown !== undefined, bufferedRecords, bufferedBytes };
    },
    async stop() {
      if (closing) return;
      closing = true;
      if (lagTimer) clearInterval(lagTimer);
      // Write what is buffered while the consumer can still commit; a sink that does not answer in time leaves it
      // uncommitted for the next owner.
      const drains = [...buffers.values()].map((b) => {
        if (b.timer) clearTimeout(b.timer);
        b.timer = undefined;
        b.due = true;
        return kick(b);
      });
      const deadline = setTimeout(() => stopping.abort(), options.drainTimeoutMs ?? 5000);
      await Promise.all(drains);
      clearTimeout(deadline);
      stopping.abort();
      unsubscribe();
      await consumer.stop();
      await sink.close();
      sinkDownGauge.remove({ connector: label });
      for (const b of buffers.values()) lagRecords.remove({ connector: label, topic: b.tp.topic, partition: String(b.tp.partition) });
      logger.info({ groupId }, 'connector stopped');
    },
  };
}
