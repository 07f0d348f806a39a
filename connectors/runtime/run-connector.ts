import type { TSchema } from '@sinclair/typebox';
import type { Log, RecordBatch } from '../../core/log/types.ts';
import { componentLogger, type Logger } from '../../core/logging/logger.ts';
import { toTributaryError } from '../../core/errors/index.ts';
import { counter, histogram } from '../../core/metrics/registry.ts';
import { backoffDelay, sleep } from '../../core/runtime/backoff.ts';
import { DEAD_LETTER_TOPIC, deadLetterRecord } from '../../core/runtime/dead-letter.ts';
import { validateOptions } from '../../core/runtime/validate-options.ts';
import type { AvroSerde } from '../../core/serde/index.ts';
import { SinkError, type ConnectorDefinition } from './define-connector.ts';

export interface RunConnectorOptions {
  log: Log;
  /** Encodes dead letters (and is handed to the component for its own records). */
  serde: AvroSerde;
  /** Topics to drain into the sink (e.g. `iot.route.<endpoint>`). */
  topics: string[];
  config?: unknown;
  /** Defaults to `tributary-connector-<name>`. */
  groupId?: string;
  /** Records per writeBatch call at most; sinks such as ClickHouse want large batches. */
  maxBatchRecords?: number;
  logger?: Logger;
}

export interface RunningConnector {
  readonly groupId: string;
  stop(): Promise<void>;
}

const recordsTotal = counter('tributary_connector_records_total', 'Records by connector and outcome (written, dead_lettered).', ['connector', 'outcome']);
const retriesTotal = counter('tributary_connector_write_retries_total', 'writeBatch attempts that failed with a retriable error.', ['connector']);
const writeSeconds = histogram('tributary_connector_write_duration_seconds', 'Duration of successful writeBatch calls.', ['connector']);

/**
 * Drains topics into a sink with at-least-once semantics: offsets are committed only after `writeBatch` resolved and
 * any dead letters were acknowledged. Retriable failures are retried with capped exponential backoff and never
 * skipped (nothing is dropped silently); permanent failures dead-letter exactly the records the sink names.
 */
export async function runConnector<S extends TSchema>(definition: ConnectorDefinition<S>, options: RunConnectorOptions): Promise<RunningConnector> {
  const name = definition.name;
  const config = validateOptions(`connector ${name}`, definition.configSchema, options.config);
  const logger = options.logger ?? componentLogger('connector', { connector: name });
  const sink = await definition.create(config, { logger, serde: options.serde });
  await sink.connect();
  const groupId = options.groupId ?? `tributary-connector-${name}`;
  const consumer = options.log.consumer({ groupId, topics: options.topics, fromBeginning: true, maxBatchRecords: options.maxBatchRecords ?? 5000 });
  const stopping = new AbortController();

  async function handle(batch: RecordBatch): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const endTimer = writeSeconds.startTimer({ connector: name });
        await sink.writeBatch({ topic: batch.topic, partition: batch.partition, records: batch.records });
        endTimer();
        recordsTotal.inc({ connector: name, outcome: 'written' }, batch.records.length);
        break;
      } catch (err) {
        const error = toTributaryError(err, 'SinkWriteFailed');
        if (error.retriable) {
          retriesTotal.inc({ connector: name });
          // Stopping mid-retry leaves the batch uncommitted: the next owner of the partition writes it.
          if (stopping.signal.aborted) throw error;
          const delay = backoffDelay(attempt);
          logger.warn({ err: error, attempt, delayMs: delay, topic: batch.topic, partition: batch.partition }, 'writeBatch failed; retrying');
          await sleep(delay, stopping.signal);
          continue;
        }
        const failed = error instanceof SinkError && error.failed ? error.failed : batch.records.map((_, i) => i);
        const failedRecords = failed.flatMap((i) => (batch.records[i] ? [batch.records[i]] : []));
        const dead = await Promise.all(failedRecords.map((r) => deadLetterRecord(options.serde, r, error, `connector:${name}`, attempt + 1)));
        logger.warn({ err: error, code: error.code, deadLettered: dead.length, topic: batch.topic, partition: batch.partition }, 'records dead-lettered');
        if (dead.length > 0) await options.log.produce(DEAD_LETTER_TOPIC, dead);
        recordsTotal.inc({ connector: name, outcome: 'dead_lettered' }, dead.length);
        recordsTotal.inc({ connector: name, outcome: 'written' }, batch.records.length - dead.length);
        break;
      }
    }
    await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: batch.nextOffset }]);
  }

  await consumer.start(handle);
  logger.info({ groupId, topics: options.topics }, 'connector started');
  return {
    groupId,
    async stop() {
      stopping.abort();
      await consumer.stop();
      await sink.close();
      logger.info({ groupId }, 'connector stopped');
    },
  };
}
