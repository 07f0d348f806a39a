/**
 * What a routing query sees of each source, shaped as IoT Hub presents it to routing
 * (learn.microsoft.com/azure/iot-hub/iot-hub-devguide-routing-query-syntax, …-messages-d2c "non-telemetry events"):
 * system properties, application properties, the body and — for device messages — the twin the enrich processor
 * attached. Non-telemetry events are JSON documents with `opType`, `hubName`, `deviceId`, `operationTimestamp` and
 * `iothub-message-schema` as application properties, as IoT Hub sends them.
 */
import { TributaryError } from '../../core/errors/index.ts';
import type { DeviceConnectionEvent, DeviceLifecycleEvent, EnrichedDeviceMessage, TwinChange } from '../../core/serde/index.ts';
import { lazy, type RouteFacts } from './query/evaluate.ts';
import type { RouteSource } from './routes.ts';

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? undefined : new Date(ms).toISOString());

/** IoT Hub looks into bodies only with content type application/json and a UTF encoding it supports; we read UTF-8. */
export function isJsonUtf8(contentType: string | null | undefined, contentEncoding: string | null | undefined): boolean {
  // A device sends the same pair on every message: the answer for the last pair saves splitting and lower-casing.
  if (contentType === lastJsonCheck.type && contentEncoding === lastJsonCheck.encoding) return lastJsonCheck.result;
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const result = type === 'application/json' && (contentEncoding ?? '').trim().toLowerCase() === 'utf-8';
  lastJsonCheck = { type: contentType, encoding: contentEncoding, result };
  return result;
}
let lastJsonCheck: { type: string | null | undefined; encoding: string | null | undefined; result: boolean } = { type: undefined, encoding: undefined, result: false };

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TributaryError('ArgumentInvalid', `${what} is not valid JSON; fix the sender (or its content type) — the record cannot be routed on it`, { cause: err });
  }
}

/**
 * Parsed twins by their JSON text. Enrich attaches the same twin text to every message of a device until the twin
 * changes, and parsing it again for every record showed in the router's profile. Values are deep-frozen, as every record of
 * that device shares them; the map is emptied when its texts pass the budget (cheaper than an LRU, and rare).
 */
const twinCache = new Map<string, unknown>();
let twinCacheChars = 0;
const TWIN_CACHE_CHARS = 4 * 1024 * 1024;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function parseTwin(text: string, what: string): unknown {
  const hit = twinCache.get(text);
  if (hit !== undefined) return hit;
  const parsed = deepFreeze(parseJson(text, what));
  if (text.length <= TWIN_CACHE_CHARS) {
    if (twinCacheChars + text.length > TWIN_CACHE_CHARS) {
      twinCache.clear();
      twinCacheChars = 0;
    }
    twinCache.set(text, parsed);
    twinCacheChars += text.length;
  }
  return parsed;
}

export function deviceMessageFacts(message: EnrichedDeviceMessage): RouteFacts {
  const system: Record<string, unknown> = {
    messageId: message.messageId ?? undefined,
    correlationId: message.correlationId ?? undefined,
    userId: message.userId ?? undefined,
    to: message.to ?? undefined,
    contentType: message.contentType ?? undefined,
    contentEncoding: message.contentEncoding ?? undefined,
    connectionDeviceId: message.connectionDeviceId,
    connectionModuleId: message.connectionModuleId ?? undefined,
    connectionDeviceGenerationId: message.connectionDeviceGenerationId ?? undefined,
    connectionAuthMethod: message.connectionAuthMethod ?? undefined,
    'iothub-enqueuedtime': iso(message.enqueuedTime),
    'iothub-creation-time-utc': iso(message.creationTime),
    'iothub-message-source': 'deviceMessages',
    interfaceId: message.interfaceId ?? undefined,
    componentName: message.componentName ?? undefined,
    outputName: message.outputName ?? undefined,
  };
  const id = message.messageId ?? '(no message id)';
  return {
    system,
    properties: { ...message.properties },
    body: lazy(() => (isJsonUtf8(message.contentType, message.contentEncoding) ? parseJson(message.body.toString('utf8'), `body of message ${id} (application/json, UTF-8)`) : undefined)),
    twin: lazy(() => (message.twin ? parseTwin(message.twin, `twin attached to message ${id}`) : undefined)),
  };
}

function eventFacts(source: string, schema: string, deviceId: string, moduleId: string | null | undefined, time: number, opType: string, body: () => unknown): RouteFacts {
  return {
    system: {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      connectionDeviceId: deviceId,
      connectionModuleId: moduleId ?? undefined,
      'iothub-enqueuedtime': iso(time),
      'iothub-message-source': source,
    },
    properties: { deviceId, ...(moduleId ? { moduleId } : {}), opType, operationTimestamp: iso(time), 'iothub-message-schema': schema },
    body: lazy(body),
    twin: () => undefined,
  };
}

export function twinChangeFacts(change: TwinChange): RouteFacts {
  return eventFacts('twinChangeEvents', 'twinChangeNotification', change.deviceId, change.moduleId, change.operationTime, change.opType, () => {
    const patch = (text: string | null | undefined, what: string) => (text ? parseJson(text, `${what} of twin change ${change.deviceId} v${change.version}`) : undefined);
    return {
      version: change.version,
      tags: patch(change.tagsPatch, 'tags patch'),
      properties: { desired: patch(change.desiredPatch, 'desired patch'), reported: patch(change.reportedPatch, 'reported patch') },
    };
  });
}

export function lifecycleFacts(event: DeviceLifecycleEvent): RouteFacts {
  return eventFacts('deviceLifecycleEvents', 'deviceLifecycleNotification', event.deviceId, event.moduleId, event.operationTime, event.opType, () =>
    event.identity ? parseJson(event.identity, `identity in lifecycle event of ${event.deviceId}`) : { deviceId: event.deviceId, moduleId: event.moduleId ?? undefined, status: event.status ?? undefined },
  );
}

export function connectionFacts(event: DeviceConnectionEvent): RouteFacts {
  return eventFacts('deviceConnectionStateEvents', 'deviceConnectionStateNotification', event.deviceId, event.moduleId, event.eventTime, event.eventType, () => ({
    deviceId: event.deviceId,
    moduleId: event.moduleId ?? undefined,
    connectionId: event.connectionId,
    protocol: event.protocol,
  }));
}

export const SOURCE_FACTS = {
  DeviceMessages: (v: unknown) => deviceMessageFacts(v as EnrichedDeviceMessage),
  TwinChangeEvents: (v: unknown) => twinChangeFacts(v as TwinChange),
  DeviceLifecycleEvents: (v: unknown) => lifecycleFacts(v as DeviceLifecycleEvent),
  DeviceConnectionStateEvents: (v: unknown) => connectionFacts(v as DeviceConnectionEvent),
} satisfies Record<RouteSource, (value: unknown) => RouteFacts>;
