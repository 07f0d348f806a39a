/**
 * rabbitmq — IoT Hub's Service Bus queue/topic endpoint role on RabbitMQ (AMQP 0-9-1, amqplib): routed messages are
 * published persistent on a confirm channel to a durable queue, or to an exchange with a routing key per message, and
 * a batch resolves only once the broker confirmed every message of it (rabbitmq.com/docs/confirms: a confirmed
 * persistent message on a durable queue has been written to disk). Then, and only then, the runtime commits.
 *
 * Failures: a lost connection or channel, a nack or a confirm that never comes are retriable — the runtime retries the
 * batch and the next attempt opens a new connection (duplicates are possible; consumers deduplicate on message-id or
 * the tributary-dedupe-id header). A message the broker returns as unroutable, or one that cannot be encoded, is
 * dead-lettered with SinkRecordRejected; records that do not decode keep their decode error's code.
 */
import { once } from 'node:events';
import { connect, type ChannelModel, type ConfirmChannel, type Message } from 'amqplib';
import { TributaryError, toTributaryError } from '../../core/errors/index.ts';
import type { Logger } from '../../core/logging/logger.ts';
import type { AvroSerde } from '../../core/serde/index.ts';
import { SinkError, defineConnector, type SinkBatch, type SinkConnector } from '../runtime/define-connector.ts';
import { decodeRouted, type RoutedMessage } from '../runtime/routed-message.ts';
import { DEDUPE_HEADER, toAmqpMessage } from './amqp-message.ts';
import { RabbitMqConfigSchema, connectionUser, redactedUrl, targetOf, type RabbitMqConfig } from './config.ts';
import { compileTemplate } from './routing-key.ts';

/** One connection and its confirm channel; `broken` is set once either closes, and the link is never reused. */
interface Link {
  model: ChannelModel;
  channel: ConfirmChannel;
  broken: Error | undefined;
  /**
   * Who to tell when the broker returns a message as unroutable (mandatory), by dedupe id and routing key. Returns come
   * in publish order on a channel, so several in-flight messages with one key are matched first come, first served.
   */
  returned: Map<string, (() => void)[]>;
  closed: Promise<void>;
}

interface Failure {
  index: number;
  error: TributaryError;
}

export const rabbitmqConnector = defineConnector({
  name: 'rabbitmq',
  description: 'Publishes routed messages to a RabbitMQ queue or exchange with publisher confirms (the Service Bus queue/topic endpoint role).',
  configSchema: RabbitMqConfigSchema,
  // Confirms make a batch cost one round trip, not one per message; a queue consumer wants messages soon, though.
  batching: { maxBatchRecords: 1000, maxBatchWaitMs: 100 },
  create: (config, deps) => new RabbitMqSink(config, deps),
});

class RabbitMqSink implements SinkConnector {
  private readonly exchange: string;
  private readonly routingKey: (message: RoutedMessage) => string;
  private readonly user: string;
  private readonly where: string;
  private link: Promise<Link> | undefined;

  constructor(
    private readonly config: RabbitMqConfig,
    private readonly deps: { logger: Logger; serde: AvroSerde },
  ) {
    const target = targetOf(config);
    this.exchange = target.exchange;
    const fixed = target.fixedRoutingKey;
    this.routingKey = fixed !== undefined ? () => fixed : compileTemplate(config.routingKey, 'connector rabbitmq: routingKey');
    this.user = connectionUser(config.url);
    this.where = `${redactedUrl(config.url)} ${config.queue !== undefined ? `queue ${config.queue}` : `exchange ${config.exchange}`}`;
  }

  async connect(): Promise<void> {
    try {
      await this.ensureLink();
    } catch (err) {
      // A broker that is down now is a passing outage: batches wait for it. Wrong credentials, vhost or topology are not.
      if (isConfigProblem(err)) throw new TributaryError('ConfigInvalid', `connector rabbitmq: ${this.where}: ${errorText(err)}; fix the URL, permissions or the existing queue/exchange`, { cause: err });
      this.deps.logger.warn({ err, target: this.where }, 'RabbitMQ unreachable at start; batches wait for it');
    }
  }

  async close(): Promise<void> {
    const link = await this.link?.catch(() => undefined);
    this.link = undefined;
    if (link && !link.broken) await link.model.close().catch(() => {});
  }

  async writeBatch(batch: SinkBatch): Promise<void> {
    const failures: Failure[] = [];
    const messages: { index: number; message: RoutedMessage }[] = [];
    for (const [index, record] of batch.records.entries()) {
      try {
        messages.push({ index, message: await decodeRouted(this.deps.serde, record) });
      } catch (err) {
        const error = toTributaryError(err, 'SerializationFailed');
        if (error.retriable) throw new SinkError(`cannot decode ${batch.topic}/${batch.partition}@${record.offset}: ${error.message}`, { retriable: true, cause: err });
        failures.push({ index, error });
      }
    }

    if (messages.length > 0) await this.publish(messages, failures);
    if (failures.length > 0) {
      const first = failures[0]!.error;
      throw new SinkError(`${failures.length} of ${batch.records.length} records not published: ${first.message}`, {
        retriable: false,
        failed: [...new Set(failures.map((f) => f.index))].sort((a, b) => a - b),
        code: first.code,
        cause: first,
      });
    }
  }

  /** Publishes and waits for every confirm; records the broker returned or that cannot be encoded go to `failures`. */
  private async publish(messages: { index: number; message: RoutedMessage }[], failures: Failure[]): Promise<void> {
    const link = await this.linkOrRetriable();
    const confirmations: Promise<Error | null>[] = [];
    const returned: number[] = [];
    const handlers: { key: string; handler: () => void }[] = [];
    for (const { index, message } of messages) {
      const { content, options } = toAmqpMessage(message, this.user);
      const routingKey = this.routingKey(message);
      const handler = { key: returnKey(message.dedupeId, routingKey), handler: () => returned.push(index) };
      handlers.push(handler);
      link.returned.set(handler.key, [...(link.returned.get(handler.key) ?? []), handler.handler]);
      let accepted = true;
      const confirmed = new Promise<Error | null>((resolve) => {
        try {
          accepted = link.channel.publish(this.exchange, routingKey, content, { ...options, mandatory: this.config.mandatory }, (err: unknown) => resolve(err ? asError(err) : null));
        } catch (err) {
          if (link.broken) return resolve(link.broken);
          // amqplib throws before sending when a frame cannot be encoded (e.g. a header name over 255 bytes).
          failures.push({ index, error: new TributaryError('SinkRecordRejected', `message ${message.dedupeId} cannot be encoded as AMQP: ${errorText(err)}`, { cause: err }) });
          resolve(null);
        }
      });
      confirmations.push(confirmed);
      // Flow control: amqplib buffers what the socket cannot take; wait rather than buffer a whole batch in memory.
      if (!accepted && !link.broken) await Promise.race([once(link.channel, 'drain').catch(() => {}), link.closed]);
      if (link.broken) break;
    }

    try {
      const results = await this.withConfirmTimeout(Promise.all(confirmations), link);
      const failed = link.broken ?? results.find((r) => r !== null);
      if (failed) {
        this.dropLink(link);
        throw new SinkError(`RabbitMQ did not confirm the batch (${this.where}): ${failed.message}; retrying on a new connection`, { retriable: true, cause: failed });
      }
    } finally {
      for (const { key, handler } of handlers) {
        const left = (link.returned.get(key) ?? []).filter((h) => h !== handler);
        if (left.length > 0) link.returned.set(key, left);
        else link.returned.delete(key);
      }
    }
    if (returned.length > 0 && this.config.queue !== undefined) {
      // The queue itself is gone (deleted behind our back): declaring it again on a new connection fixes that.
      this.dropLink(link);
      throw new SinkError(`RabbitMQ returned ${returned.length} messages as unroutable: queue ${this.config.queue} no longer exists; retrying on a new connection, which declares it again`, { retriable: true });
    }
    for (const index of returned) {
      failures.push({ index, error: new TributaryError('SinkRecordRejected', `RabbitMQ returned the message as unroutable: no queue is bound to exchange ${this.exchange} for its routing key; bind one (or set mandatory: false), then replay it from the dead-letter topic`) });
    }
  }

  private async withConfirmTimeout<T>(work: Promise<T>, link: Link): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.dropLink(link);
        reject(new SinkError(`RabbitMQ did not confirm the batch within ${this.config.confirmTimeoutMs} ms (${this.where}; a blocked or unreachable broker); retrying on a new connection`, { retriable: true }));
      }, this.config.confirmTimeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async linkOrRetriable(): Promise<Link> {
    try {
      return await this.ensureLink();
    } catch (err) {
      throw new SinkError(`cannot reach RabbitMQ (${this.where}): ${errorText(err)}`, { retriable: true, cause: err });
    }
  }

  private ensureLink(): Promise<Link> {
    if (!this.link) {
      const opening = this.openLink();
      this.link = opening;
      opening.catch(() => {
        if (this.link === opening) this.link = undefined;
      });
    }
    return this.link;
  }

  /** Forgets a link so the next batch reconnects; closing it also fails whatever still waits on it. */
  private dropLink(link: Link): void {
    link.broken ??= new Error('connection dropped after a failed batch');
    void this.link?.then((current) => {
      if (current === link) this.link = undefined;
    }, () => {});
    link.model.close().catch(() => {});
  }

  private async openLink(): Promise<Link> {
    const model = await connect(this.config.url, { clientProperties: { connection_name: 'tributary-connector-rabbitmq' } });
    let markClosed!: () => void;
    const link: Link = { model, channel: undefined as unknown as ConfirmChannel, broken: undefined, returned: new Map(), closed: new Promise((r) => (markClosed = r)) };
    const broken = (err: Error | undefined, what: string) => {
      if (!link.broken) this.deps.logger.warn({ err, target: this.where }, `RabbitMQ ${what}; the next batch reconnects`);
      link.broken ??= err ?? new Error(`RabbitMQ ${what}`);
      markClosed();
      void this.link?.then((current) => {
        if (current === link) this.link = undefined;
      }, () => {});
    };
    // Listeners for 'error' are mandatory: an unhandled one would take the process down.
    model.on('error', (err: Error) => broken(err, 'connection error'));
    model.on('close', (err?: Error) => broken(err, 'connection closed'));
    model.on('blocked', (reason: string) => this.deps.logger.warn({ reason, target: this.where }, 'RabbitMQ blocked publishing (resource alarm)'));
    try {
      link.channel = await model.createConfirmChannel();
      link.channel.on('error', (err: Error) => broken(err, 'channel error'));
      link.channel.on('close', () => broken(undefined, 'channel closed'));
      link.channel.on('return', (message: Message) => link.returned.get(returnKey(String(message.properties.headers?.[DEDUPE_HEADER]), message.fields.routingKey))?.shift()?.());
      await this.declare(link.channel);
    } catch (err) {
      await model.close().catch(() => {});
      throw err;
    }
    this.deps.logger.info({ target: this.where }, 'connected to RabbitMQ');
    return link;
  }

  private async declare(channel: ConfirmChannel): Promise<void> {
    const { queue, exchange } = this.config;
    if (queue !== undefined) {
      if (this.config.declare) await channel.assertQueue(queue, { durable: true, arguments: this.config.queueArguments });
      else await channel.checkQueue(queue);
    } else if (exchange !== undefined) {
      if (this.config.declare) await channel.assertExchange(exchange, this.config.exchangeType, { durable: true });
      else await channel.checkExchange(exchange);
    }
  }
}

function returnKey(dedupeId: string, routingKey: string): string {
  return `${dedupeId}\n${routingKey}`;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * AMQP reply codes that no retry fixes: 403 access refused (credentials, permissions), 404 not found (declare: false
 * and the queue/exchange is missing), 406 precondition failed (existing queue/exchange with other arguments), 530 not
 * allowed (unknown vhost). amqplib puts the code on the error, or only in the handshake message; a vhost the user
 * may not open shows only as "Expected ConnectionOpenOk; got <ConnectionClose …>".
 */
function isConfigProblem(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (code === 403 || code === 404 || code === 406 || code === 530) return true;
  return /ACCESS[-_]REFUSED|NOT[-_]ALLOWED|PRECONDITION[-_]FAILED|NOT[-_]FOUND|Expected ConnectionOpenOk/.test(errorText(err));
}
