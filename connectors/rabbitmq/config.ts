import { Type, type Static } from '@sinclair/typebox';
import { TributaryError } from '../../core/errors/index.ts';

/** Queue and exchange names: AMQP short strings (≤ 255 bytes); `amq.` names are RabbitMQ's own and cannot be declared. */
const name = (description: string) => Type.String({ minLength: 1, maxLength: 255, description });

export const RabbitMqConfigSchema = Type.Object(
  {
    url: Type.String({
      pattern: '^amqps?://',
      description: 'RabbitMQ connection URL, `amqp[s]://user:password@host:5672/vhost`; the hub passes its `amqp.url`. ' +
        'The user in it is the one RabbitMQ validates the user-id property against.',
    }),
    queue: Type.Optional(name('Queue to publish to through the default exchange — the Service Bus queue role. Declared durable on connect ' +
      '(unless `declare` is false). Set either `queue` or `exchange`; an endpoint of the hub that sets neither publishes to a ' +
      'queue named after the endpoint.')),
    exchange: Type.Optional(name('Exchange to publish to — the Service Bus topic role: consumers bind their own queues. Declared durable ' +
      'on connect with `exchangeType` (unless `declare` is false). Set either `queue` or `exchange`.')),
    exchangeType: Type.Union([Type.Literal('topic'), Type.Literal('direct'), Type.Literal('fanout'), Type.Literal('headers')], {
      default: 'topic',
      description: 'Type of `exchange` when the connector declares it.',
    }),
    routingKey: Type.String({
      default: '{deviceId}',
      maxLength: 255,
      description: 'Routing key for `exchange`, a template: `{deviceId}`, `{moduleId}`, `{messageId}`, `{endpoint}`, `{route}`, ' +
        '`{source}`, `{properties.<name>}` (application property), `{enrichments.<name>}`, `{systemProperties.<name>}`; ' +
        'a value the message lacks becomes empty. Ignored with `queue`.',
    }),
    declare: Type.Boolean({
      default: true,
      description: 'Declare the queue or exchange (durable) on connect. false: it must already exist; a missing one fails the connect.',
    }),
    queueArguments: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
      default: {},
      description: 'Arguments of the declared queue, e.g. `{"x-queue-type": "quorum"}`; they must match an existing queue.',
    }),
    mandatory: Type.Boolean({
      default: true,
      description: 'Publish as mandatory: a message no queue is bound for comes back and is dead-lettered (code SinkRecordRejected) ' +
        'instead of being dropped by the broker. false: RabbitMQ drops unroutable messages silently.',
    }),
    confirmTimeoutMs: Type.Integer({
      minimum: 100,
      default: 30_000,
      description: 'How long a batch waits for the broker to confirm its messages (a blocked or partitioned broker) before the ' +
        'batch is retried on a new connection.',
    }),
  },
  { additionalProperties: false },
);

export type RabbitMqConfig = Static<typeof RabbitMqConfigSchema>;

/** Where messages go: the exchange and routing key `publish` takes (the default exchange '' routes by queue name). */
export function targetOf(config: RabbitMqConfig): { exchange: string; fixedRoutingKey: string | undefined } {
  if ((config.queue === undefined) === (config.exchange === undefined)) {
    throw new TributaryError('ConfigInvalid', 'connector rabbitmq: set exactly one of `queue` (a queue, the Service Bus queue role) or `exchange` (an exchange, the Service Bus topic role)');
  }
  if (config.exchange?.startsWith('amq.') && config.declare) {
    // RabbitMQ reserves amq.* (ACCESS_REFUSED on declare) but predeclares amq.topic etc. durable.
    throw new TributaryError('ConfigInvalid', `connector rabbitmq: exchange ${config.exchange} is reserved by RabbitMQ and cannot be declared; set declare: false to use it`);
  }
  return config.queue !== undefined ? { exchange: '', fixedRoutingKey: config.queue } : { exchange: config.exchange!, fixedRoutingKey: undefined };
}

/** The user RabbitMQ authenticates the connection as — what it compares the user-id property with. */
export function connectionUser(url: string): string {
  const parsed = new URL(url);
  // amqplib logs in as guest/guest when the URL names no user.
  return parsed.username === '' && parsed.password === '' ? 'guest' : decodeURIComponent(parsed.username);
}

/** The URL without its password, for logs and error messages. */
export function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
