import { logLevel as KafkaLogLevel, type logCreator, type LogEntry } from 'kafkajs';
import type { Logger } from '../../logging/logger.ts';

/**
 * Bridges kafkajs' own logger to pino (`componentLogger('kafka')`), so broker, group and retry messages land in the
 * same structured stream as ours instead of kafkajs' JSON on stdout.
 */
export function kafkaLogLevelFor(logger: Logger): KafkaLogLevel {
  switch (logger.level) {
    case 'trace':
    case 'debug':
      return KafkaLogLevel.DEBUG;
    case 'info':
      return KafkaLogLevel.INFO;
    case 'warn':
      return KafkaLogLevel.WARN;
    case 'silent':
      return KafkaLogLevel.NOTHING;
    default:
      return KafkaLogLevel.ERROR;
  }
}

export function pinoLogCreator(logger: Logger): logCreator {
  return () => (entry: LogEntry) => {
    const { message, timestamp: _timestamp, logger: _name, ...fields } = entry.log;
    const bindings = { kafkaNamespace: entry.namespace, ...fields };
    // kafkajs logs every error response at ERROR in its Connection layer, including answers we expect and handle
    // (TOPIC_ALREADY_EXISTS on an idempotent createTopics, UNKNOWN_TOPIC_OR_PARTITION on a probe). The caller sees
    // the same error as a TributaryError, so the connection-level line is only debug detail.
    if (entry.namespace === 'Connection' && message.startsWith('Response ')) {
      logger.debug(bindings, message);
      return;
    }
    // Printed on every producer start because our idempotent producer bounds its retries on purpose (see
    // createProducer in kafka-log.ts); a give-up surfaces as a rejected produce(), never as a silent loss.
    if (message.startsWith('Limiting retries for the idempotent producer')) {
      logger.debug(bindings, message);
      return;
    }
    switch (entry.level) {
      case KafkaLogLevel.ERROR:
        logger.error(bindings, message);
        break;
      case KafkaLogLevel.WARN:
        logger.warn(bindings, message);
        break;
      case KafkaLogLevel.INFO:
        logger.info(bindings, message);
        break;
      default:
        logger.debug(bindings, message);
    }
  };
}
