/**
 * IoT Hub's fixed MQTT topic namespace (iothub-wire.md §2.2). There is no general broker here: every topic a device
 * may publish to or subscribe to is one of these shapes, parsed into what it means; anything else is refused.
 * Device and module ids never contain `/` (IoT Hub's id rules), so splitting on `/` is exact.
 */
import { formatCloudBag, type CloudBagFields } from './property-bag.ts';

/** The identity a topic addresses; the gateway checks it against the authenticated one. */
export interface TopicAddress {
  deviceId: string;
  moduleId?: string;
}

export type PublishTopic =
  | { kind: 'telemetry'; address: TopicAddress; bag: string }
  | { kind: 'twinGet'; requestId: string }
  | { kind: 'twinPatchReported'; requestId: string }
  | { kind: 'methodResponse'; status: number; requestId: string };

/** What a subscription is for; one entry per IoT Hub feature. */
export type SubscriptionKind = 'c2d' | 'inputs' | 'methods' | 'twinResponses' | 'desired';

export interface SubscriptionTopic {
  kind: SubscriptionKind;
  /** For `c2d` and `inputs`: whose messages; the `$iothub/…` topics are implicitly the connection's own. */
  address?: TopicAddress;
}

/** `?$rid=…&$version=…` → a map, values URL-decoded. */
function queryOf(text: string): Map<string, string> | undefined {
  if (!text.startsWith('?')) return undefined;
  const out = new Map<string, string>();
  for (const pair of text.slice(1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    try {
      out.set(decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq)), eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1)));
    } catch {
      return undefined;
    }
  }
  return out;
}

function requestIdOf(last: string | undefined): string | undefined {
  const rid = last === undefined ? undefined : queryOf(last)?.get('$rid');
  return rid === undefined || rid === '' ? undefined : rid;
}

/** Parses the topic of a device→hub PUBLISH; undefined when it is not one IoT Hub accepts. */
export function parsePublishTopic(topic: string): PublishTopic | undefined {
  if (topic.startsWith('devices/')) {
    const parts = topic.split('/');
    const deviceId = parts[1];
    if (!deviceId) return undefined;
    // devices/{d}/messages/events/{bag}
    if (parts[2] === 'messages' && parts[3] === 'events' && parts.length >= 4) {
      return { kind: 'telemetry', address: { deviceId }, bag: parts.slice(4).join('/') };
    }
    // devices/{d}/modules/{m}/messages/events/{bag}
    const moduleId = parts[3];
    if (parts[2] === 'modules' && moduleId && parts[4] === 'messages' && parts[5] === 'events' && parts.length >= 6) {
      return { kind: 'telemetry', address: { deviceId, moduleId }, bag: parts.slice(6).join('/') };
    }
    return undefined;
  }
  if (topic.startsWith('$iothub/')) {
    const parts = topic.split('/');
    // $iothub/twin/GET/?$rid={rid}
    if (parts[1] === 'twin' && parts[2] === 'GET' && parts.length === 4) {
      const requestId = requestIdOf(parts[3]);
      return requestId === undefined ? undefined : { kind: 'twinGet', requestId };
    }
    // $iothub/twin/PATCH/properties/reported/?$rid={rid}
    if (parts[1] === 'twin' && parts[2] === 'PATCH' && parts[3] === 'properties' && parts[4] === 'reported' && parts.length === 6) {
      const requestId = requestIdOf(parts[5]);
      return requestId === undefined ? undefined : { kind: 'twinPatchReported', requestId };
    }
    // $iothub/methods/res/{status}/?$rid={rid}
    if (parts[1] === 'methods' && parts[2] === 'res' && parts.length === 5) {
      const status = Number(parts[3]);
      const requestId = requestIdOf(parts[4]);
      if (!Number.isInteger(status) || requestId === undefined) return undefined;
      return { kind: 'methodResponse', status, requestId };
    }
  }
  return undefined;
}

/** Parses a SUBSCRIBE / UNSUBSCRIBE topic filter; undefined when it is not one of IoT Hub's. */
export function parseSubscriptionTopic(filter: string): SubscriptionTopic | undefined {
  switch (filter) {
    case '$iothub/methods/POST/#': return { kind: 'methods' };
    case '$iothub/twin/res/#': return { kind: 'twinResponses' };
    case '$iothub/twin/PATCH/properties/desired/#': return { kind: 'desired' };
  }
  const parts = filter.split('/');
  const deviceId = parts[1];
  if (parts[0] !== 'devices' || !deviceId) return undefined;
  // devices/{d}/messages/devicebound/#
  if (parts.length === 5 && parts[2] === 'messages' && parts[3] === 'devicebound' && parts[4] === '#') {
    return { kind: 'c2d', address: { deviceId } };
  }
  // devices/{d}/modules/{m}/inputs/#
  const moduleId = parts[3];
  if (parts.length === 6 && parts[2] === 'modules' && moduleId && parts[4] === 'inputs' && parts[5] === '#') {
    return { kind: 'inputs', address: { deviceId, moduleId } };
  }
  return undefined;
}

// ---- hub → device ------------------------------------------------------------------------------------------------

/** `devices/{d}/messages/devicebound/{bag}` (wire §2.2, §2.4). */
export function c2dTopic(deviceId: string, bag: CloudBagFields): string {
  return `devices/${deviceId}/messages/devicebound/${formatCloudBag(bag)}`;
}

/** `devices/{d}/modules/{m}/inputs/{input}/{bag}`; the SDK reads segment 6 raw (wire §2.4), so the name goes as is. */
export function moduleInputTopic(deviceId: string, moduleId: string, inputName: string, bag: CloudBagFields): string {
  return `devices/${deviceId}/modules/${moduleId}/inputs/${inputName}/${formatCloudBag(bag)}`;
}

/**
 * `$iothub/methods/POST/{method}/?$rid={rid}`: the SDK takes the 4th path segment undecoded (url.parse) as the method
 * name and querystring-decodes the query, so only the request id is encoded.
 */
export function methodRequestTopic(methodName: string, requestId: string): string {
  return `$iothub/methods/POST/${methodName}/?$rid=${encodeURIComponent(requestId)}`;
}

/** `$iothub/twin/res/{status}/?$rid={rid}[&$version={n}]`. */
export function twinResponseTopic(status: number, requestId: string, version?: number | null): string {
  const v = version === undefined || version === null ? '' : `&$version=${version}`;
  return `$iothub/twin/res/${status}/?$rid=${encodeURIComponent(requestId)}${v}`;
}

/** `$iothub/twin/PATCH/properties/desired/?$version={n}`. */
export function desiredPatchTopic(version: number): string {
  return `$iothub/twin/PATCH/properties/desired/?$version=${version}`;
}
