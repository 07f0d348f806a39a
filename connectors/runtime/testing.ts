/**
 * Test helpers for connectors (not a test file): endpoint-topic records as the router writes them, so each connector's
 * tests can feed its sink realistic input without running the router.
 */
import { TOPICS, routeTopic } from '../../core/log/topics.ts';
import type { ProduceRecord } from '../../core/log/types.ts';
import type { AvroSerde, EnrichedDeviceMessage, ForwardedRecord } from '../../core/serde/index.ts';

/** A D2C message as the enrich processor emits it; `overrides` change any field. */
export function sampleDeviceMessage(overrides: Partial<EnrichedDeviceMessage> = {}): EnrichedDeviceMessage {
  return {
    messageId: 'mid-1', correlationId: null, userId: null, to: null, contentType: 'application/json', contentEncoding: 'utf-8',
    expiryTime: null, creationTime: null, enqueuedTime: Date.now(), connectionDeviceId: 'dev-1', connectionModuleId: null,
    connectionAuthMethod: '{"scope":"device","type":"sas","issuer":"iothub"}', connectionDeviceGenerationId: '1', interfaceId: null,
    componentName: null, outputName: null, ingestNode: 'test-node', protocol: 'Mqtt', properties: {}, enrichments: {}, twin: null,
    body: Buffer.from('{"temperature":20}'),
    ...overrides,
  };
}

export interface RoutedOptions {
  /** Topic `value` was read from (its Avro subject); default iot.device.messages.enriched. */
  sourceTopic?: string;
  sourcePartition?: number;
  sourceOffset?: number;
  /** Record key; default the value's device id (`connectionDeviceId`, else `deviceId`). */
  key?: string;
  route?: string;
}

/**
 * The value the router would write to `iot.route.<endpoint>` for `value` read from `sourceTopic` at `position`: a
 * ForwardedRecord around `value` in its own Confluent wire format. Defaults: device messages from
 * iot.device.messages.enriched, partition 0, offset 0.
 */
export async function routedValue(serde: AvroSerde, endpoint: string, value: unknown, options: RoutedOptions = {}): Promise<Buffer> {
  const sourceTopic = options.sourceTopic ?? TOPICS.deviceMessagesEnriched;
  const key = keyOf(value, options);
  const forwarded: ForwardedRecord = {
    sourceTopic,
    sourcePartition: options.sourcePartition ?? 0,
    sourceOffset: options.sourceOffset ?? 0,
    sourceTimestamp: Date.now(),
    key: key === null ? null : Buffer.from(key),
    value: await serde.encode(sourceTopic, value),
    headers: {},
    route: options.route ?? 'test-route',
    endpoint,
    forwardedTime: Date.now(),
  };
  return serde.encode(routeTopic(endpoint), forwarded);
}

/** The record to produce to `iot.route.<endpoint>` (key = device id) carrying `routedValue(…)`. */
export async function routedRecord(serde: AvroSerde, endpoint: string, value: unknown, options: RoutedOptions = {}): Promise<ProduceRecord> {
  return { key: keyOf(value, options), value: await routedValue(serde, endpoint, value, options) };
}

function keyOf(value: unknown, options: RoutedOptions): string | null {
  const v = value as { connectionDeviceId?: string; deviceId?: string };
  return options.key ?? v.connectionDeviceId ?? v.deviceId ?? null;
}
