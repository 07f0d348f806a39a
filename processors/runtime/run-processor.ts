import type { TSchema } from '@sinclair/typebox';
import type { Log, ProduceRecord, RecordBatch } from '../../core/log/types.ts';
import { componentLogger, type Logger } from '../../core/logging/logger.ts';
import { toTributaryError } from '../../core/errors/index.ts';
import { counter, histogram } from '../../core/metrics/registry.ts';
import { DEAD_LETTER_TOPIC, deadLetterRecord } from '../../core/runtime/dead-letter.ts';
import { validateOptions } from '../../core/runtime/validate-options.ts';
import type { AvroSerde } from '../../core/serde/index.ts';
import type { ProcessorDefinition } from './define-processor.ts';

export interface RunProcessorOptions {
  log: Log;
  /** Encodes dead letters (and is handed to the component for its own records). */
  serde: AvroSerde;
  /** The processor's raw settings; validated against its schema before anything starts. */
  config?: unknown;
  /** Defaults to `tributary-processor-<name>`; processes sharing it split the input partitions. */
  groupId?: string;
  maxBatchRecords?: number;
  logger?: Logger;
}

export interface RunningProcessor {
  readonly groupId: string;
  /** Leaves the consumer group after the batch in flight and closes the processor. */
  stop(): Promise<void>;
}

const recordsTotal = counter('tributary_processor_records_total', 'Input records by processor and outcome (forwarded, filtered, dead_lettered).', ['processor', 'outcome']);
const outputsTotal = counter('tributary_processor_output_records_total', 'Records produced by processor and destination topic.', ['processor', 'topic']);
const batchSeconds = histogram('tributary_processor_batch_duration_seconds', 'Time from receiving a batch to committing it.', ['processor']);

/**
 * Runs a processor on the Log with at-least-once semantics: for each partition batch, `process` runs record by record
 * in offset order; outputs and dead letters of the whole batch are produced together, and the batch's offset is
 * committed only after the log acknowledged them. A crash before the commit replays the batch (duplicates downstream
 * are possible; sinks deduplicate by message id).
 *
 * Errors: a non-retriable error (bad input, a processor bug) dead-letters that one record and the partition goes on;
 * a retriable one (a dependency down) rejects the batch, which the consumer redelivers after a backoff — dead-lettering
 * would turn a passing outage into data that needs manual replay.
 */
export async function runProcessor<S extends TSchema>(definition: ProcessorDefinition<S>, options: RunProcessorOptions): Promise<RunningProcessor> {
  const name = definition.name;
  const config = validateOptions(`processor ${name}`, definition.configSchema, options.config);
  const logger = options.logger ?? componentLogger('processor', { processor: name });
  const processor = await definition.create(config, { logger, serde: options.serde });
  const groupId = options.groupId ?? `tributary-processor-${name}`;
  const topics = definition.inputTopics(config);
  const consumer = options.log.consumer({ groupId, topics, fromBeginning: true, maxBatchRecords: options.maxBatchRecords ?? 500 });

  async function handle(batch: RecordBatch): Promise<void> {
    const endTimer = batchSeconds.startTimer({ processor: name });
    const byTopic = new Map<string, ProduceRecord[]>();
    const emit = (topic: string, record: ProduceRecord) => {
      const list = byTopic.get(topic);
      if (list) list.push(record);
      else byTopic.set(topic, [record]);
    };
    const counts = { forwarded: 0, filtered: 0, dead_lettered: 0 };

    for (const record of batch.records) {
      try {
        const outputs = await processor.process(record, { logger, headers: record.headers });
        if (outputs.length === 0) counts.filtered++;
        else counts.forwarded++;
        for (const out of outputs) {
          emit(out.topic, { key: out.key, value: out.value, headers: out.headers ?? {}, timestamp: out.timestamp ?? record.timestamp });
        }
      } catch (err) {
        const error = toTributaryError(err, 'ProcessingFailed');
        if (error.retriable) throw error;
        logger.warn({ err: error, code: error.code, topic: record.topic, partition: record.partition, offset: record.offset }, 'record dead-lettered');
        emit(DEAD_LETTER_TOPIC, await deadLetterRecord(options.serde, record, error, `processor:${name}`));
        counts.dead_lettered++;
      }
    }

    await Promise.all([...byTopic].map(([topic, records]) => options.log.produce(topic, records)));
    await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: batch.nextOffset }]);
    try {
      processor.onCommitted?.({ topic: batch.topic, partition: batch.partition, nextOffset: batch.nextOffset });
    } catch (err) {
      logger.warn({ err }, 'onCommitted hook failed; its metrics may be off');
    }

    for (const [outcome, n] of Object.entries(counts)) if (n > 0) recordsTotal.inc({ processor: name, outcome }, n);
    for (const [topic, records] of byTopic) outputsTotal.inc({ processor: name, topic }, records.length);
    endTimer();
  }

  await consumer.start(handle);
  logger.info({ groupId, topics }, 'processor started');
  return {
    groupId,
    async stop() {
      await consumer.stop();
      await processor.close?.();
      logger.info({ groupId }, 'processor stopped');
    },
  };
}
