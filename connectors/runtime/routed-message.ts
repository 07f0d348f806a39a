/**
 * EXPORTS (what connectors code against):
 *   type RoutedSource, interface RoutedMessage, decodeRouted(serde, record) → Promise<RoutedMessage>,
 *   decodeRoutedSync(serde, record) → RoutedMessage | undefined (the same without a promise once the schemas are known),
 *   SOURCE_BY_TOPIC (TOPICS topic → RoutedSource), sourceOfTopic(topic), isJsonBody(contentType, contentEncoding),
 *   isoTime(ms) (= new Date(ms).toISOString(), cheaper).
 *   Tests: connectors/runtime/testing.ts has routedRecord(serde, endpoint, value, {sourceTopic,…}) and sampleDeviceMessage().
 *
 * One record of an endpoint topic `iot.route.<endpoint>` (value: ForwardedRecord, schemas/iot.deadletter-value)
 * decoded into the connector-neutral shape every sink writes from. The inner value is the original record in its own
 * Confluent wire format, decoded with the original topic as reader subject. System property names are the ones IoT
 * Hub puts on messages it routes to Event Hubs / Service Bus / storage
 * (learn.microsoft.com/azure/iot-hub/iot-hub-devguide-messages-construct), so a consumer written for IoT Hub finds
 * them where it expects. Non-telemetry sources become what IoT Hub delivers for them: a JSON body and the
 * `opType` / `iothub-message-schema` application properties (…-devguide-messages-d2c "non-telemetry events").
 *
 * A record that cannot be decoded throws a non-retriable `SerializationFailed`/`ArgumentInvalid`, so the connector
 * runtime dead-letters it instead of stalling the partition.
 */
import { TributaryError } from '../../core/errors/index.ts';
import { TOPICS } from '../../core/log/topics.ts';
import type { LogRecord } from '../../core/log/types.ts';
import type {
  AvroSerde, DeviceConnectionEvent, DeviceLifecycleEvent, EnrichedDeviceMessage, ForwardedRecord, TwinChange,
} from '../../core/serde/index.ts';

export type RoutedSource = 'DeviceMessages' | 'TwinChangeEvents' | 'DeviceLifecycleEvents' | 'DeviceConnectionStateEvents';

export interface RoutedMessage {
  source: RoutedSource;
  deviceId: string;
  moduleId: string | null;
  /** DeviceMessages: the device's message id (`$.mid`), or null; other sources: `dedupeId`. */
  messageId: string | null;
  /** Always set: `messageId` when present, else `${sourceTopic}/${sourcePartition}/${sourceOffset}`. Sinks dedupe on it. */
  dedupeId: string;
  /** Milliseconds since the epoch (`iothub-enqueuedtime`; for events, the operation/event time). */
  enqueuedTime: number;
  /** IoT Hub's names (message-id, iothub-connection-device-id, iothub-enqueuedtime as ISO-8601, …); absent ones left out. */
  systemProperties: Record<string, string>;
  appProperties: Record<string, string>;
  enrichments: Record<string, string>;
  /** Raw body bytes; for events, the event as JSON text. */
  body: Buffer;
  /** The body as text when IoT Hub would read it as JSON (application/json + UTF-8), else null; events: the JSON text. */
  bodyText: string | null;
  ingestNode: string | null;
  protocol: string | null;
  route: string | null;
  endpoint: string | null;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: number;
}

/** The hub's source topics and the route source their records belong to. */
export const SOURCE_BY_TOPIC: Readonly<Record<string, RoutedSource>> = {
  [TOPICS.deviceMessages]: 'DeviceMessages',
  [TOPICS.deviceMessagesEnriched]: 'DeviceMessages',
  [TOPICS.twinChanges]: 'TwinChangeEvents',
  [TOPICS.deviceLifecycle]: 'DeviceLifecycleEvents',
  [TOPICS.deviceConnections]: 'DeviceConnectionStateEvents',
};

export function sourceOfTopic(topic: string): RoutedSource | undefined {
  return SOURCE_BY_TOPIC[topic];
}

/**
 * IoT Hub treats a body as JSON (for `$body` queries and for JSON encoding on storage endpoints) only when the content
 * type is application/json and the encoding is UTF-8 — the encoding compared case-insensitively; we read UTF-8 only.
 */
export function isJsonBody(contentType: string | null | undefined, contentEncoding: string | null | undefined): boolean {
  // What devices send nearly always, answered without the allocations of the general case below.
  if (contentType === 'application/json' && (contentEncoding === 'utf-8' || contentEncoding === 'UTF-8')) return true;
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  return type === 'application/json' && (encoding === 'utf-8' || encoding === 'utf8');
}

/** The last second `isoTime` formatted, as `YYYY-MM-DDTHH:MM:SS.`: most times of a batch share their second. */
let isoSecond = Number.NaN;
let isoPrefix = '';
/** Latest time whose ISO-8601 form has the fixed 24-character shape (9999-12-31T23:59:59.999Z). */
const ISO_FIXED_MAX = 253_402_300_799_999;

/**
 * `new Date(ms).toISOString()`, which cost about a microsecond a call — several per message. Within the second last
 * formatted only the milliseconds change, so they are appended to the cached prefix.
 */
export function isoTime(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > ISO_FIXED_MAX) return new Date(ms).toISOString();
  const milli = ms % 1000;
  const second = ms - milli;
  if (second !== isoSecond) {
    isoPrefix = new Date(second).toISOString().slice(0, 20);
    isoSecond = second;
  }
  return `${isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/** Copies the set (non-null) entries only, so absent properties are absent rather than "null". */
function defined(entries: Record<string, string | null | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  // for…in rather than Object.entries (same order): this runs for every routed message.
  for (const k in entries) {
    const v = entries[k];
    if (v !== null && v !== undefined) out[k] = v;
  }
  return out;
}

/** Patches are stored as JSON text; one that is not JSON is passed on as the string it is rather than dropped. */
function json(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Used when a router was configured with non-default source topics: the decoded record's own fields say what it is. */
function sourceOfValue(value: Record<string, unknown>): RoutedSource | undefined {
  if ('connectionDeviceId' in value && 'body' in value) return 'DeviceMessages';
  if ('opType' in value && 'version' in value) return 'TwinChangeEvents';
  if ('opType' in value && 'operationTime' in value) return 'DeviceLifecycleEvents';
  if ('eventType' in value && 'connectionId' in value) return 'DeviceConnectionStateEvents';
  return undefined;
}

type Common = Pick<RoutedMessage, 'route' | 'endpoint' | 'sourceTopic' | 'sourcePartition' | 'sourceOffset'> & { position: string };

function fromDeviceMessage(m: EnrichedDeviceMessage, c: Common): RoutedMessage {
  const messageId = m.messageId ?? null;
  const systemProperties = defined({
    'message-id': messageId,
    'correlation-id': m.correlationId,
    'user-id': m.userId,
    to: m.to,
    'content-type': m.contentType,
    'content-encoding': m.contentEncoding,
    'absolute-expiry-time': m.expiryTime !== null && m.expiryTime !== undefined ? isoTime(m.expiryTime) : null,
    'iothub-connection-device-id': m.connectionDeviceId,
    'iothub-connection-module-id': m.connectionModuleId,
    'iothub-connection-auth-method': m.connectionAuthMethod,
    'iothub-connection-auth-generation-id': m.connectionDeviceGenerationId,
    'iothub-enqueuedtime': isoTime(m.enqueuedTime),
    'iothub-creation-time-utc': m.creationTime !== null && m.creationTime !== undefined ? isoTime(m.creationTime) : null,
    'iothub-interface-id': m.interfaceId,
    'dt-subject': m.componentName,
    'iothub-outputname': m.outputName,
    'iothub-message-source': 'Telemetry',
  });
  const body = Buffer.from(m.body);
  return {
    source: 'DeviceMessages',
    deviceId: m.connectionDeviceId,
    moduleId: m.connectionModuleId ?? null,
    messageId,
    dedupeId: messageId ?? c.position,
    enqueuedTime: m.enqueuedTime,
    systemProperties,
    appProperties: { ...m.properties },
    enrichments: { ...m.enrichments },
    body,
    bodyText: isJsonBody(m.contentType, m.contentEncoding) ? body.toString('utf8') : null,
    ingestNode: m.ingestNode,
    protocol: m.protocol,
    route: c.route, endpoint: c.endpoint, sourceTopic: c.sourceTopic, sourcePartition: c.sourcePartition, sourceOffset: c.sourceOffset,
  };
}

interface EventParts {
  source: Exclude<RoutedSource, 'DeviceMessages'>;
  /** `iothub-message-source` as IoT Hub names the source. */
  messageSource: string;
  schema: string;
  deviceId: string;
  moduleId: string | null | undefined;
  time: number;
  opType: string;
  body: unknown;
  ingestNode?: string | null;
  protocol?: string | null;
}

function fromEvent(e: EventParts, c: Common): RoutedMessage {
  const text = JSON.stringify(e.body);
  return {
    source: e.source,
    deviceId: e.deviceId,
    moduleId: e.moduleId ?? null,
    messageId: c.position,
    dedupeId: c.position,
    enqueuedTime: e.time,
    systemProperties: defined({
      'message-id': c.position,
      'content-type': 'application/json',
      'content-encoding': 'utf-8',
      'iothub-connection-device-id': e.deviceId,
      'iothub-connection-module-id': e.moduleId,
      'iothub-enqueuedtime': isoTime(e.time),
      'iothub-message-source': e.messageSource,
    }),
    appProperties: defined({
      deviceId: e.deviceId,
      moduleId: e.moduleId,
      opType: e.opType,
      operationTimestamp: isoTime(e.time),
      'iothub-message-schema': e.schema,
    }),
    enrichments: {},
    body: Buffer.from(text, 'utf8'),
    bodyText: text,
    ingestNode: e.ingestNode ?? null,
    protocol: e.protocol ?? null,
    route: c.route, endpoint: c.endpoint, sourceTopic: c.sourceTopic, sourcePartition: c.sourcePartition, sourceOffset: c.sourceOffset,
  };
}

function fromTwinChange(t: TwinChange, c: Common): RoutedMessage {
  return fromEvent({
    source: 'TwinChangeEvents', messageSource: 'twinChangeEvents', schema: 'twinChangeNotification',
    deviceId: t.deviceId, moduleId: t.moduleId, time: t.operationTime, opType: t.opType,
    body: { version: t.version, tags: json(t.tagsPatch), properties: { desired: json(t.desiredPatch), reported: json(t.reportedPatch) } },
  }, c);
}

function fromLifecycle(l: DeviceLifecycleEvent, c: Common): RoutedMessage {
  return fromEvent({
    source: 'DeviceLifecycleEvents', messageSource: 'deviceLifecycleEvents', schema: 'deviceLifecycleNotification',
    deviceId: l.deviceId, moduleId: l.moduleId, time: l.operationTime, opType: l.opType,
    // IoT Hub's lifecycle body is the device (or module) identity document.
    body: json(l.identity) ?? { deviceId: l.deviceId, moduleId: l.moduleId ?? undefined, etag: l.etag ?? undefined, status: l.status ?? undefined, statusReason: l.statusReason ?? undefined, generationId: l.generationId ?? undefined },
  }, c);
}

function fromConnection(e: DeviceConnectionEvent, c: Common): RoutedMessage {
  return fromEvent({
    source: 'DeviceConnectionStateEvents', messageSource: 'deviceConnectionStateEvents', schema: 'deviceConnectionStateNotification',
    deviceId: e.deviceId, moduleId: e.moduleId, time: e.eventTime, opType: e.eventType,
    // IoT Hub sends a sequence number so consumers can order connect/disconnect; the source offset orders them per device.
    body: { sequenceNumber: String(c.sourceOffset).padStart(20, '0'), deviceId: e.deviceId, moduleId: e.moduleId ?? undefined, connectionId: e.connectionId, protocol: e.protocol, reason: e.reason ?? undefined },
    ingestNode: e.ingestNode, protocol: e.protocol,
  }, c);
}

/** Decodes one endpoint-topic record (ForwardedRecord around the original Confluent-wire value) into a RoutedMessage. */
export async function decodeRouted(serde: AvroSerde, record: LogRecord): Promise<RoutedMessage> {
  const value = valueOf(record);
  const forwarded = serde.decodeSync<ForwardedRecord>(value, record.topic) ?? await serde.decode<ForwardedRecord>(value, record.topic);
  const inner = forwardedValue(forwarded, record);
  const topic = innerTopic(forwarded);
  return routedMessage(record, forwarded, serde.decodeSync<Record<string, unknown>>(inner, topic) ?? await serde.decode<Record<string, unknown>>(inner, topic));
}

/**
 * `decodeRouted` without a promise per record, for sinks decoding thousands of records per batch: undefined until both
 * schemas of the record have been looked up once (by `decodeRouted`), then the same message. Throws what
 * `decodeRouted` rejects with.
 */
export function decodeRoutedSync(serde: AvroSerde, record: LogRecord): RoutedMessage | undefined {
  const forwarded = serde.decodeSync<ForwardedRecord>(valueOf(record), record.topic);
  if (forwarded === undefined) return undefined;
  const inner = serde.decodeSync<Record<string, unknown>>(forwardedValue(forwarded, record), innerTopic(forwarded));
  return inner === undefined ? undefined : routedMessage(record, forwarded, inner);
}

const whereOf = (record: LogRecord) => `${record.topic}/${record.partition}@${record.offset}`;

function valueOf(record: LogRecord): Buffer {
  if (!record.value) throw new TributaryError('ArgumentNull', `record ${whereOf(record)} has no value (a tombstone is no routed message); it is dead-lettered`);
  return record.value;
}

function forwardedValue(forwarded: ForwardedRecord, record: LogRecord): Buffer {
  if (!forwarded.value) throw new TributaryError('ArgumentNull', `record ${whereOf(record)} forwards no value from ${forwarded.sourceTopic}; it is dead-lettered`);
  return forwarded.value;
}

/** The inner value's reader subject: its source topic when that is one of the hub's, else the writer's record name. */
const innerTopic = (forwarded: ForwardedRecord) => (sourceOfTopic(forwarded.sourceTopic) ? forwarded.sourceTopic : undefined);

function routedMessage(record: LogRecord, forwarded: ForwardedRecord, inner: Record<string, unknown>): RoutedMessage {
  const source = sourceOfTopic(forwarded.sourceTopic) ?? sourceOfValue(inner);
  const common: Common = {
    route: forwarded.route ?? null,
    endpoint: forwarded.endpoint ?? null,
    sourceTopic: forwarded.sourceTopic,
    sourcePartition: forwarded.sourcePartition,
    sourceOffset: forwarded.sourceOffset,
    position: `${forwarded.sourceTopic}/${forwarded.sourcePartition}/${forwarded.sourceOffset}`,
  };
  switch (source) {
    case 'DeviceMessages': return fromDeviceMessage(inner as unknown as EnrichedDeviceMessage, common);
    case 'TwinChangeEvents': return fromTwinChange(inner as unknown as TwinChange, common);
    case 'DeviceLifecycleEvents': return fromLifecycle(inner as unknown as DeviceLifecycleEvent, common);
    case 'DeviceConnectionStateEvents': return fromConnection(inner as unknown as DeviceConnectionEvent, common);
    default:
      throw new TributaryError('ArgumentInvalid', `record ${whereOf(record)} forwards a record from ${forwarded.sourceTopic}, which is no route source (device messages, twin changes, lifecycle or connection events); it is dead-lettered`);
  }
}
