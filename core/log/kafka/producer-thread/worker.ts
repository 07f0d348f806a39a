/**
 * The producer thread: its own kafkajs client, admin (for topic metadata) and idempotent producer behind the same
 * LogProducer KafkaLog runs in-thread. It reads packed records (record-codec.ts) and answers each produce with the
 * placement of its records or the error, serialized (messages.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { componentLogger, rootLogger } from '../../../logging/logger.ts';
import { createKafkaClient } from '../client.ts';
import { LogProducer, createProducer } from '../log-producer.ts';
import { serializeError, type FromProducerThread, type ProducerThreadInput, type ToProducerThread } from './messages.ts';
import { decodeRecords } from './record-codec.ts';

const input = workerData as ProducerThreadInput;
const port = parentPort!;
rootLogger.level = input.logLevel;
const logger = componentLogger('kafka', { thread: 'producer' });
const post = (m: FromProducerThread, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);

const kafka = createKafkaClient(input.client, logger);
const admin = kafka.admin();
const producer = createProducer(kafka);
try {
  await admin.connect();
  await producer.connect();
} catch (err) {
  await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
  post({ op: 'startFailed', error: serializeError(err) });
  port.close();
  process.exit(0);
}
const log = new LogProducer(kafka, admin, producer, input.settings, logger);

port.on('message', (m: ToProducerThread) => {
  switch (m.op) {
    case 'produce': {
      let records;
      try {
        records = decodeRecords(m.records);
      } catch (err) {
        post({ op: 'failed', id: m.id, error: serializeError(err), requests: log.requests });
        return;
      }
      log.produce(m.topic, records).then(
        (placed) => {
          const placement = new Float64Array(placed.length * 2);
          for (let i = 0; i < placed.length; i++) {
            placement[2 * i] = placed[i]!.partition;
            placement[2 * i + 1] = placed[i]!.offset;
          }
          post({ op: 'produced', id: m.id, placement, requests: log.requests }, [placement.buffer as ArrayBuffer]);
        },
        (err: unknown) => post({ op: 'failed', id: m.id, error: serializeError(err), requests: log.requests }),
      );
      return;
    }
    case 'forget':
      log.forgetTopics(m.topics);
      return;
    case 'close':
      void log
        .close(m.timeoutMs)
        .then(() => admin.disconnect())
        .catch((err: unknown) => logger.warn({ err }, 'closing the producer thread'))
        .finally(() => {
          post({ op: 'closed' });
          port.close();
        });
  }
});
post({ op: 'ready' });
