/**
 * kafka — the Event Hubs role of IoT Hub routing (issue #7 item 4): re-publishes the records routed to an endpoint to
 * a Kafka topic, on the hub's own cluster (through the hub's Log) or another one (`brokers`, through a KafkaLog of its
 * own — so this folder needs no kafkajs import either). Keyed by device id; the KafkaLog producer is idempotent with
 * acks=all, so a producer retry never duplicates. A redelivered batch (a crash between write and commit) is
 * published again: consumers of the target topic dedupe on the `message-id` header / `dedupeId` field, as Event Hubs
 * consumers do on message id.
 */
import { TributaryError, toTributaryError, type ErrorCode } from '../../core/errors/index.ts';
import { KafkaLog } from '../../core/log/kafka/index.ts';
import type { Log, ProduceRecord } from '../../core/log/types.ts';
import { SinkError, defineConnector, type SinkConnector } from '../runtime/define-connector.ts';
import { decodeRouted } from '../runtime/routed-message.ts';
import { KafkaConnectorConfigSchema } from './config.ts';
import { toKafkaRecord } from './kafka-record.ts';

export const kafkaConnector = defineConnector({
  name: 'kafka',
  description: 'Re-publishes routed messages to a Kafka topic on the hub\'s cluster or another one, as JSON or in the original Avro (the Event Hubs role).',
  configSchema: KafkaConnectorConfigSchema,
  // Kafka takes large batches cheaply; a short wait keeps end-to-end latency low.
  batching: { maxBatchRecords: 2000, maxBatchBytes: 4 * 1024 * 1024, maxBatchWaitMs: 100 },
  create(config, { serde, log: hubLog, logger }): SinkConnector {
    let target: Log | undefined;
    let own: KafkaLog | undefined;
    return {
      async connect() {
        if (config.brokers) {
          try {
            own = await KafkaLog.connect({ brokers: config.brokers, clientId: config.clientId, logger });
          } catch (err) {
            // Unreachable brokers: the supervisor logs this and starts the endpoint again later.
            throw new TributaryError('SinkWriteFailed', `kafka connector cannot reach ${config.brokers.join(',')}: ${(err as Error).message}; check the endpoint's brokers setting`, { cause: err, retriable: true });
          }
          target = own;
        } else {
          target = hubLog;
        }
        if (config.createTopic) await target.createTopics([{ name: config.topic, partitions: config.partitions }]);
      },
      async writeBatch(batch) {
        if (!target) throw new SinkError('kafka connector is not connected', { retriable: true });
        const records: ProduceRecord[] = [];
        const indexes: number[] = []; // batch index of each of `records`
        const failed: number[] = [];
        const failures: string[] = [];
        let failureCode: ErrorCode | undefined; // the dead letters' code: the first failure's
        for (const [i, record] of batch.records.entries()) {
          try {
            const message = await decodeRouted(serde, record);
            const originalValue = config.format === 'avro' ? await originalValueOf(record.value!) : null;
            records.push(toKafkaRecord(message, { format: config.format, headers: config.headers, originalValue }));
            indexes.push(i);
          } catch (err) {
            const error = toTributaryError(err, 'SerializationFailed');
            // A registry outage is the sink's problem, not the record's: retry the batch.
            if (error.retriable) throw new SinkError(`kafka connector cannot decode ${batch.topic}/${batch.partition}@${record.offset}: ${error.message}`, { retriable: true, cause: err, code: error.code });
            failed.push(i);
            failures.push(`@${record.offset}: ${error.message}`);
            failureCode ??= error.code;
          }
        }
        try {
          if (records.length > 0) await target.produce(config.topic, records);
        } catch (err) {
          const error = toTributaryError(err, 'LogUnavailable');
          if (error.retriable) throw new SinkError(`kafka connector could not publish to ${config.topic}: ${error.message}`, { retriable: true, cause: err, code: error.code });
          // A record the target refuses for good (too large) fails the whole produce: find it one by one, so only the
          // refused records are dead-lettered. Re-sending the others is harmless (at-least-once, keyed, in order).
          for (const [j, one] of records.entries()) {
            try {
              await target.produce(config.topic, [one]);
            } catch (oneErr) {
              const e = toTributaryError(oneErr, 'LogUnavailable');
              if (e.retriable) throw new SinkError(`kafka connector could not publish to ${config.topic}: ${e.message}`, { retriable: true, cause: oneErr, code: e.code });
              failed.push(indexes[j]!);
              failures.push(`@${batch.records[indexes[j]!]!.offset}: ${e.message}`);
              failureCode ??= e.code;
            }
          }
          failed.sort((a, b) => a - b);
        }
        if (failed.length > 0) {
          throw new SinkError(`${failed.length} records of ${batch.topic}/${batch.partition} could not be published (${failures.slice(0, 3).join('; ')})`, { retriable: false, failed, code: failureCode });
        }
      },
      async close() {
        await own?.close();
        own = undefined;
        target = undefined;
      },
    };

    async function originalValueOf(value: Buffer): Promise<Buffer | null> {
      const forwarded = await serde.decode<{ value?: Buffer | null }>(value);
      return forwarded.value ? Buffer.from(forwarded.value) : null;
    }
  },
});
