/**
 * The kafkajs client as KafkaLog builds it, from options that are plain data, so a worker thread (producer-thread/)
 * builds the same client from its workerData.
 */
import { connect as netConnect } from 'node:net';
import { Kafka, type RetryOptions } from 'kafkajs';
import type { Logger } from '../../logging/logger.ts';
import { kafkaLogLevelFor, pinoLogCreator } from './kafka-logger.ts';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** Overrides the client-level retry (connections, metadata, admin); tests use few retries to fail fast. */
  retry?: RetryOptions;
  /**
   * Sends every broker connection to this address instead of the one the broker advertises: a TCP proxy or tunnel in
   * front of a single broker (brokers advertise their own address, so pointing `brokers` at a proxy would cover only
   * the bootstrap connection). Tests use it to cut Kafka off without touching the shared broker.
   */
  connectVia?: { host: string; port: number };
}

/** Client-level retry (admin, metadata, connections): exponential backoff up to 10 s, so a broker restart is ridden out. */
export const CLIENT_RETRY: RetryOptions = { initialRetryTime: 300, maxRetryTime: 10_000, retries: 10 };

export function createKafkaClient(options: KafkaClientOptions, logger: Logger): Kafka {
  const via = options.connectVia;
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: kafkaLogLevelFor(logger),
    logCreator: pinoLogCreator(logger),
    retry: { ...CLIENT_RETRY, ...options.retry },
    connectionTimeout: 3_000,
    ...(via ? { socketFactory: ({ onConnect }) => netConnect({ host: via.host, port: via.port }, onConnect) } : {}),
  });
}
