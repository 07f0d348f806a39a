/**
 * IoT Hub's MQTT property bags: the last topic segment(s) carrying message properties as `key=value&key=value`
 * (iothub-wire.md §2.3 device→hub, §2.4 hub→device).
 *
 * Device→hub: the SDK writes system properties with `querystring.stringify` (`$` → `%24`) and application properties
 * with `encodeURIComponent`, so we URL-decode keys and values and never read `+` as a space. Keys starting with `$.`
 * that IoT Hub defines are system properties; everything else — including unknown `$.x` keys and app keys that begin
 * with `$` (they arrive as `%24x`, the same ambiguity IoT Hub has, wire §2.3) — stays an application property.
 *
 * Hub→device: the SDK parses only one `/`-separated segment (the 5th for C2D, the 7th for module inputs) by splitting
 * on `&` and `=` and `decodeURIComponent`-ing both sides (wire §2.4), so every key and value is encodeURIComponent-ed:
 * `/`, `&`, `=` and spaces can never leak into the structure.
 */
import { TributaryError } from '../../core/errors/index.ts';

/** IoT Hub's system property keys in device→hub bags and the envelope field each one sets. */
export const SYSTEM_KEYS = {
  '$.on': 'outputName',
  '$.mid': 'messageId',
  '$.cid': 'correlationId',
  '$.uid': 'userId',
  '$.to': 'to',
  '$.ct': 'contentType',
  '$.ce': 'contentEncoding',
  '$.ifid': 'interfaceId',
  '$.exp': 'expiryTime',
  '$.ctime': 'creationTime',
  // The SDK renames the app property `dt-subject` (the PnP component name) to `$.sub`.
  '$.sub': 'componentName',
} as const;

export type SystemField = (typeof SYSTEM_KEYS)[keyof typeof SYSTEM_KEYS];

export interface ParsedBag {
  /** System properties by envelope field name, values decoded (times still as sent). */
  system: Partial<Record<SystemField, string>>;
  /** Application properties in the order sent; a key sent twice keeps its last value. */
  properties: Record<string, string>;
}

function decode(text: string, bag: string): string {
  if (!text.includes('%')) return text; // the common case: nothing to decode, skip the costly call
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TributaryError('ArgumentInvalid', `Property bag '${bag.slice(0, 200)}' is not valid URL encoding; percent-encode keys and values (encodeURIComponent).`);
  }
}

/**
 * Parses a device→hub bag (the text after `…/messages/events/`). A trailing `/` (module outputs always end with one,
 * wire §2.2) and empty pairs are ignored; a key without `=` gets the empty string.
 */
export function parseDeviceBag(bag: string): ParsedBag {
  const result: ParsedBag = { system: {}, properties: {} };
  const text = bag.endsWith('/') ? bag.slice(0, -1) : bag;
  if (text === '') return result;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq), bag);
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1), bag);
    if (key === '') continue;
    const field = Object.hasOwn(SYSTEM_KEYS, key) ? SYSTEM_KEYS[key as keyof typeof SYSTEM_KEYS] : undefined;
    if (field !== undefined) result.system[field] = value;
    else result.properties[key] = value;
  }
  return result;
}

/** What the hub sends to a device with a C2D message or a module input message. */
export interface CloudBagFields {
  messageId?: string | null;
  to?: string | null;
  contentType?: string | null;
  contentEncoding?: string | null;
  correlationId?: string | null;
  userId?: string | null;
  /** Milliseconds since the epoch. */
  expiryTime?: number | null;
  /** IoT Hub's `iothub-ack` (none, positive, negative, full): sent as an application property, as IoT Hub does. */
  ack?: string | null;
  properties?: Record<string, string> | null;
}

/** IoT Hub writes UTC times without milliseconds when they are whole seconds: `2030-01-01T00:00:00Z`. */
export function formatUtc(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

const enc = encodeURIComponent;

/** Builds a hub→device bag in the order IoT Hub writes it: system properties, `iothub-ack`, application properties. */
export function formatCloudBag(f: CloudBagFields): string {
  const pairs: string[] = [];
  const add = (key: string, value: string | null | undefined) => {
    if (value !== undefined && value !== null) pairs.push(`${enc(key)}=${enc(value)}`);
  };
  add('$.mid', f.messageId);
  add('$.to', f.to);
  add('$.ct', f.contentType);
  add('$.ce', f.contentEncoding);
  add('$.cid', f.correlationId);
  add('$.uid', f.userId);
  if (f.expiryTime !== undefined && f.expiryTime !== null) add('$.exp', formatUtc(f.expiryTime));
  add('iothub-ack', f.ack);
  for (const [key, value] of Object.entries(f.properties ?? {})) add(key, value);
  return pairs.join('&');
}
