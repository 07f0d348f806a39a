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

/**
 * The record the router would write to `iot.route.<endpoint>` for `value` read from `sourceTopic` at `position`
 * (key = device id). Defaults: device messages from iot.device.messages.enriched, partition 0, offset 0.
 */
export async function routedRecord(
  serde: AvroSerde,
  endpoint: string,
  value: unknown,
  options: { sourceTopic?: string; sourcePartition?: number; sourceOffset?: number; key?: string; route?: string } = {},
): Promise<ProduceRecord> {
  const sourceTopic = options.sourceTopic ?? TOPICS.deviceMessagesEnriched;
  const key = options.key ?? (value as { connectionDeviceId?: string; deviceId?: string }).connectionDeviceId ?? (value as { deviceId?: string }).deviceId ?? null;
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
  const topic = routeTopic(endpoint);
  return { key, value: await serde.encode(topic, forwarded) };
}
