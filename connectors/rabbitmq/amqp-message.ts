/**
 * A routed message as an AMQP 0-9-1 message, the way IoT Hub hands messages to a Service Bus queue or topic
 * endpoint (learn.microsoft.com/azure/iot-hub/iot-hub-devguide-messages-d2c "Service Bus queues and topics"): the body
 * bytes unchanged; message id, correlation id, content type and encoding as broker properties; application
 * properties, IoT Hub's system properties (`iothub-connection-device-id`, `iothub-enqueuedtime`, …) and enrichments
 * as user properties — headers here, under IoT Hub's names.
 */
import type { Options } from 'amqplib';
import type { RoutedMessage } from '../runtime/routed-message.ts';

/** Header with the id consumers deduplicate on: redelivery after a crash publishes the same message again. */
export const DEDUPE_HEADER = 'tributary-dedupe-id';
export const ROUTE_HEADER = 'tributary-route';
export const ENDPOINT_HEADER = 'tributary-endpoint';

/** System properties that become AMQP basic properties rather than headers (IoT Hub's names, then Event Grid's). */
const NATIVE = {
  messageId: ['message-id', 'messageId'],
  correlationId: ['correlation-id', 'correlationId'],
  contentType: ['content-type', 'iothub-content-type', 'contentType'],
  contentEncoding: ['content-encoding', 'iothub-content-encoding', 'contentEncoding'],
  userId: ['user-id', 'userId'],
} as const;
const NATIVE_NAMES = new Set<string>(Object.values(NATIVE).flat());

function systemProperty(message: RoutedMessage, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = Object.hasOwn(message.systemProperties, name) ? message.systemProperties[name] : undefined;
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

export interface AmqpMessage {
  content: Buffer;
  options: Options.Publish;
}

/**
 * `connectionUser` is the user the connector logged in as: RabbitMQ rejects (closes the channel on) a message whose
 * user-id property differs from it (rabbitmq.com/docs/validated-user-id), so a device's user-id goes to a header
 * unless it matches.
 */
export function toAmqpMessage(message: RoutedMessage, connectionUser: string): AmqpMessage {
  // IoT Hub stamps enrichments as application properties: one replaces a device property of the same name.
  const headers: Record<string, string> = { ...message.appProperties, ...message.enrichments };
  for (const [name, value] of Object.entries(message.systemProperties)) if (!NATIVE_NAMES.has(name)) headers[name] = value;
  headers[DEDUPE_HEADER] = message.dedupeId;
  if (message.route) headers[ROUTE_HEADER] = message.route;
  if (message.endpoint) headers[ENDPOINT_HEADER] = message.endpoint;

  const userId = systemProperty(message, NATIVE.userId);
  if (userId !== undefined && userId !== connectionUser) headers['user-id'] = userId;
  const options: Options.Publish = {
    persistent: true,
    // Without a device message id consumers still need one to deduplicate on (Service Bus would invent one).
    messageId: message.messageId ?? message.dedupeId,
    correlationId: systemProperty(message, NATIVE.correlationId),
    contentType: systemProperty(message, NATIVE.contentType),
    contentEncoding: systemProperty(message, NATIVE.contentEncoding),
    // AMQP 0-9-1 timestamps are whole seconds; the millisecond enqueued time stays in iothub-enqueuedtime.
    timestamp: Math.floor(message.enqueuedTime / 1000),
    userId: userId !== undefined && userId === connectionUser ? userId : undefined,
    headers,
  };
  for (const key of Object.keys(options) as (keyof Options.Publish)[]) if (options[key] === undefined) delete options[key];
  return { content: message.body, options };
}
