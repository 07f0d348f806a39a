/**
 * A RoutedMessage as the record the kafka connector publishes. Event Hubs (whose role this connector plays) delivers
 * IoT Hub's system properties and the application properties with each event; on Kafka they become headers. The JSON
 * form carries the same fields in the value, so a consumer that ignores headers still sees everything.
 */
import type { ProduceRecord } from '../../core/log/types.ts';
import type { RoutedMessage } from '../runtime/routed-message.ts';

/** The JSON value of `format: json`: the RoutedMessage with the body as text when it is JSON/UTF-8, else base64. */
export interface RoutedMessageJson extends Omit<RoutedMessage, 'body' | 'bodyText'> {
  body: string;
  bodyEncoding: 'utf-8' | 'base64';
}

export function toJson(message: RoutedMessage): RoutedMessageJson {
  const { body, bodyText, ...rest } = message;
  return bodyText !== null ? { ...rest, body: bodyText, bodyEncoding: 'utf-8' } : { ...rest, body: body.toString('base64'), bodyEncoding: 'base64' };
}

export function toKafkaRecord(message: RoutedMessage, options: { format: 'json' | 'avro'; headers: boolean; originalValue: Buffer | null }): ProduceRecord {
  const headers: Record<string, string> = {};
  if (options.headers) {
    // System properties are set last: the hub's values win over an application property of the same name.
    Object.assign(headers, message.appProperties, message.systemProperties);
    if (options.format === 'json') headers['content-type'] = 'application/json';
  }
  return {
    key: message.deviceId,
    value: options.format === 'avro' ? options.originalValue : JSON.stringify(toJson(message)),
    headers,
    timestamp: message.enqueuedTime,
  };
}
