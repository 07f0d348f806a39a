/**
 * Test fixtures: endpoint-topic records as the router writes them (a ForwardedRecord around an EnrichedDeviceMessage
 * in the Confluent wire format), at chosen offsets, so sink tests can hand batches straight to writeBatch.
 */
import { TOPICS } from '../../core/log/topics.ts';
import type { LogRecord } from '../../core/log/types.ts';
import type { AvroSerde, EnrichedDeviceMessage, ForwardedRecord } from '../../core/serde/index.ts';

export const BASE_TIME = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

/** Message `i` of device `dev-<i mod 3>`: a JSON body `{"i":<i>}`, enqueued `i` ms after BASE_TIME. */
export function deviceMessage(i: number, overrides: Partial<EnrichedDeviceMessage> = {}): EnrichedDeviceMessage {
  return {
    messageId: `m-${i}`, correlationId: null, userId: null, to: null, contentType: 'application/json', contentEncoding: 'utf-8',
    expiryTime: null, creationTime: null, enqueuedTime: BASE_TIME + i, connectionDeviceId: `dev-${i % 3}`, connectionModuleId: null,
    connectionAuthMethod: '{"scope":"device","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}', connectionDeviceGenerationId: 'g1',
    interfaceId: null, componentName: null, outputName: null, ingestNode: 'node-1', protocol: 'Mqtt',
    properties: { seq: String(i) }, enrichments: { site: 'plant-7' }, twin: null, body: Buffer.from(JSON.stringify({ i })),
    ...overrides,
  };
}

/** The endpoint-topic record carrying `message`, as the router forwards it. */
export async function routedRecord(serde: AvroSerde, topic: string, partition: number, offset: number, message: EnrichedDeviceMessage): Promise<LogRecord> {
  const forwarded: ForwardedRecord = {
    sourceTopic: TOPICS.deviceMessagesEnriched, sourcePartition: partition, sourceOffset: 1000 + offset, sourceTimestamp: message.enqueuedTime,
    key: Buffer.from(message.connectionDeviceId), value: await serde.encode(TOPICS.deviceMessagesEnriched, message),
    headers: {}, route: 'to-storage', endpoint: topic.replace(/^iot\.route\./, ''), forwardedTime: message.enqueuedTime + 1,
  };
  return { topic, partition, offset, key: Buffer.from(message.connectionDeviceId), value: await serde.encode(topic, forwarded), headers: {}, timestamp: message.enqueuedTime };
}

/** Records for offsets [from, to) of one partition, message i at offset i. */
export function routedRange(serde: AvroSerde, topic: string, partition: number, from: number, to: number): Promise<LogRecord[]> {
  return Promise.all(Array.from({ length: to - from }, (_, k) => routedRecord(serde, topic, partition, from + k, deviceMessage(from + k))));
}
