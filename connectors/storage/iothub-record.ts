/**
 * The record IoT Hub writes to a storage endpoint, one per routed message, in both encodings:
 *
 *   { EnqueuedTimeUtc, Properties, SystemProperties, Body }
 *
 * - EnqueuedTimeUtc: .NET's round-trip format with seven fractional digits, `2019-05-10T06:06:32.7220000Z`, as IoT Hub
 *   writes it (samples in learn.microsoft.com/azure/iot-hub/tutorial-message-enrichments and …/iot-central data export).
 * - Properties: application properties, with message enrichments among them — IoT Hub adds enrichments as application
 *   properties and an enrichment replaces a device property of the same name (iot-hub-message-enrichments-overview).
 * - SystemProperties: the camelCase names IoT Hub uses for routed messages (connectionDeviceId, connectionAuthMethod,
 *   connectionDeviceGenerationId, contentType, contentEncoding, enqueuedTime, messageId, correlationId, userId, …; the
 *   names of Microsoft.Azure.Devices.Routing.Core.SystemProperties), not the AMQP annotation names RoutedMessage carries.
 * - Body: Avro: the raw bytes. JSON: the body itself as a JSON value when the message is JSON (content type
 *   application/json, UTF-8 encoding), otherwise the bytes base64-encoded in a string — what IoT Hub's JSON encoding
 *   does ("If this isn't set, IoT Hub writes the messages in base 64 encoded format").
 */
import { createHash } from 'node:crypto';
import avro from 'avsc';
import type { RoutedMessage } from '../runtime/routed-message.ts';

export interface IotHubRecord {
  EnqueuedTimeUtc: string;
  Properties: Record<string, string>;
  SystemProperties: Record<string, string>;
  Body: Buffer | null;
}

/** IoT Hub's Avro schema for storage endpoints (the writer schema in the header of the files it writes). */
export const IOTHUB_AVRO_SCHEMA = {
  type: 'record',
  name: 'Message',
  namespace: 'Microsoft.Azure.Devices',
  fields: [
    { name: 'EnqueuedTimeUtc', type: 'string' },
    { name: 'Properties', type: { type: 'map', values: 'string' } },
    { name: 'SystemProperties', type: { type: 'map', values: 'string' } },
    { name: 'Body', type: ['null', 'bytes'] },
  ],
} as const;

export const IOTHUB_AVRO_TYPE = avro.Type.forSchema(IOTHUB_AVRO_SCHEMA as unknown as avro.Schema);

/** RoutedMessage's system property names (AMQP annotations, routed-message.ts) → the names in storage records. */
const SYSTEM_PROPERTY_NAMES: Readonly<Record<string, string>> = {
  'message-id': 'messageId',
  'correlation-id': 'correlationId',
  'user-id': 'userId',
  to: 'to',
  'content-type': 'contentType',
  'content-encoding': 'contentEncoding',
  'iothub-connection-device-id': 'connectionDeviceId',
  'iothub-connection-module-id': 'connectionModuleId',
  'iothub-connection-auth-method': 'connectionAuthMethod',
  'iothub-connection-auth-generation-id': 'connectionDeviceGenerationId',
  'iothub-outputname': 'outputName',
};

/** `2019-05-10T06:06:32.722Z` → `2019-05-10T06:06:32.7220000Z` (milliseconds are all the hub keeps). */
export function dotNetUtc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}0000Z`;
}

export function toIotHubRecord(message: RoutedMessage): IotHubRecord {
  const system: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.systemProperties)) {
    // The enqueued time is re-rendered in IoT Hub's format below; everything IoT Hub has no other name for keeps its own.
    if (name !== 'iothub-enqueuedtime') system[SYSTEM_PROPERTY_NAMES[name] ?? name] = value;
  }
  const enqueued = dotNetUtc(message.enqueuedTime);
  system.enqueuedTime = enqueued;
  return {
    EnqueuedTimeUtc: enqueued,
    Properties: { ...message.appProperties, ...message.enrichments },
    SystemProperties: system,
    Body: message.body,
  };
}

/**
 * One JSON line (with its `\n`). A JSON body is spliced in as the text the device sent rather than parsed and
 * re-serialised, so numbers beyond double precision and key order survive; its line breaks can only be whitespace
 * between tokens (JSON strings cannot hold raw control characters), so they become spaces.
 */
export function jsonLine(record: IotHubRecord, bodyText: string | null): string {
  const head = JSON.stringify({ EnqueuedTimeUtc: record.EnqueuedTimeUtc, Properties: record.Properties, SystemProperties: record.SystemProperties });
  return `${head.slice(0, -1)},"Body":${jsonBody(record.Body, bodyText)}}\n`;
}

function jsonBody(body: Buffer | null, bodyText: string | null): string {
  if (body === null) return 'null';
  if (bodyText !== null) {
    const text = bodyText.trim();
    if (isJson(text)) return text.replace(/[\r\n]+/g, ' ');
  }
  // Content that claims to be JSON but is not is written as IoT Hub writes any non-JSON body.
  return JSON.stringify(body.toString('base64'));
}

function isJson(text: string): boolean {
  if (text === '') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Bytes a record adds to an Avro file before compression (its binary encoding). */
export function avroSize(record: IotHubRecord): number {
  return IOTHUB_AVRO_TYPE.toBuffer(record).length;
}

/**
 * An Avro object container file (avro.apache.org/docs/1.11.1/specification/#object-container-files) of `records`,
 * written by avsc's BlockEncoder. The 16-byte sync marker is normally random; here it is derived from `seed` (the
 * file name), so encoding the same records under the same name gives the same bytes — a rewrite after redelivery
 * then replaces the file with an identical one.
 */
export async function avroContainer(records: readonly IotHubRecord[], options: { deflate: boolean; seed: string; blockSize?: number }): Promise<Buffer> {
  const syncMarker = createHash('sha256').update(options.seed).digest().subarray(0, 16);
  const encoder = new avro.streams.BlockEncoder(IOTHUB_AVRO_SCHEMA as unknown as avro.Schema, {
    codec: options.deflate ? 'deflate' : 'null',
    syncMarker,
    // Blocks of ~1 MiB by default: readers (and the deflate codec) hold one block at a time.
    blockSize: options.blockSize ?? 1 << 20,
  });
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
    encoder.on('end', () => resolve());
    encoder.on('error', reject);
    // avsc reports a value that does not fit the schema as 'typeError' and skips it; a file must never lack a record.
    encoder.on('typeError', (err: Error) => reject(err));
  });
  for (const record of records) encoder.write(record);
  encoder.end();
  await done;
  return Buffer.concat(chunks);
}
