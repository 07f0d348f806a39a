/**
 * Routed records as the router writes them (ForwardedRecord around the original Confluent-wire value on an
 * `iot.route.<endpoint>` topic), for the ClickHouse tests and benchmark.
 */
import { randomUUID } from 'node:crypto';
import { TOPICS } from '../../../core/log/topics.ts';
import type { LogRecord, ProduceRecord } from '../../../core/log/types.ts';
import type { AvroSerde, EnrichedDeviceMessage } from '../../../core/serde/index.ts';
import { routedValue as routedValueOf } from '../../runtime/testing.ts';

export interface Origin {
  sourceTopic: string;
  partition: number;
  offset: number;
}

/** The value of an endpoint-topic record wrapping `value`, encoded for `sourceTopic`. */
export function routedValue(serde: AvroSerde, endpointTopic: string, value: unknown, origin: Origin): Promise<Buffer> {
  return routedValueOf(serde, endpointTopic.replace(/^iot\.route\./, ''), value, {
    sourceTopic: origin.sourceTopic, sourcePartition: origin.partition, sourceOffset: origin.offset, route: 'to-clickhouse',
  });
}

/** A LogRecord as a consumer of `endpointTopic` would receive it, at `offset` of partition 0. */
export async function routedRecord(serde: AvroSerde, endpointTopic: string, value: unknown, origin: Origin, offset: number): Promise<LogRecord> {
  return { topic: endpointTopic, partition: 0, offset, key: null, value: await routedValue(serde, endpointTopic, value, origin), headers: {}, timestamp: Date.now() };
}

/** A telemetry message as a typical device sends it: JSON body of ~150 bytes, two properties, one enrichment. */
export function sampleTelemetry(i: number, devices: number, enqueuedTime: number): EnrichedDeviceMessage {
  const device = `sensor-${String(i % devices).padStart(5, '0')}`;
  return {
    messageId: randomUUID(), correlationId: null, userId: null, to: null, contentType: 'application/json', contentEncoding: 'utf-8',
    expiryTime: null, creationTime: enqueuedTime - 40, enqueuedTime, connectionDeviceId: device, connectionModuleId: null,
    connectionAuthMethod: '{"scope":"device","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}',
    connectionDeviceGenerationId: '638712345678901234', interfaceId: null, componentName: null, outputName: null,
    ingestNode: 'ingest-0', protocol: 'Mqtt', properties: { alert: i % 10 === 0 ? 'true' : 'false', fw: '1.4.2' },
    enrichments: { site: `plant-${i % 7}` }, twin: null,
    body: Buffer.from(JSON.stringify({
      temperature: 20 + (i % 150) / 10, humidity: 40 + (i % 30), pressure: 1013.25, battery: 3.7, seq: i,
      location: { lat: 47.6062, lon: -122.3321 },
    })),
  };
}

/** Produce records for `sampleTelemetry` messages routed to `endpointTopic` (key = device id, as the router writes). */
export async function telemetryRecords(serde: AvroSerde, endpointTopic: string, count: number, devices: number, start = 0): Promise<ProduceRecord[]> {
  const now = Date.now();
  return Promise.all(Array.from({ length: count }, async (_, n) => {
    const i = start + n;
    const message = sampleTelemetry(i, devices, now + n);
    return { key: message.connectionDeviceId, value: await routedValue(serde, endpointTopic, message, { sourceTopic: TOPICS.deviceMessagesEnriched, partition: i % 6, offset: i }) };
  }));
}
