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

/**
 * IoT Hub's system key names (`mid` of `$.mid`) by length, for reading a key as it stands in the bag: the SDK writes
 * `%24.mid` (querystring), a hand-made bag may say `$.mid`. Matching those spellings in place spares a key string, its
 * decoding and a lookup per system property; every other spelling is decoded and looked up as before.
 */
const SYSTEM_NAMES_BY_LENGTH: Array<Array<readonly [string, SystemField]>> = [];
for (const [key, field] of Object.entries(SYSTEM_KEYS)) {
  const name = key.slice(2);
  (SYSTEM_NAMES_BY_LENGTH[name.length] ??= []).push([name, field]);
}

/** The field of the raw key `bag[start, end)` when it is `$.name` or `%24.name` for a system key name, else undefined. */
function rawSystemField(bag: string, start: number, end: number): SystemField | undefined {
  let p: number;
  if (bag.charCodeAt(start) === 0x24 && bag.charCodeAt(start + 1) === 0x2e) p = start + 2; // `$.`
  else if (bag.startsWith('%24.', start)) p = start + 4;
  else return undefined;
  const names = SYSTEM_NAMES_BY_LENGTH[end - p];
  if (names === undefined) return undefined;
  for (const [name, field] of names) if (bag.startsWith(name, p)) return field;
  return undefined;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 65 && c <= 70) return c - 55; // A-F
  if (c >= 97 && c <= 102) return c - 87; // a-f
  return -1;
}

function badEncoding(bag: string): TributaryError {
  return new TributaryError('ArgumentInvalid', `Property bag '${bag.slice(0, 200)}' is not valid URL encoding; percent-encode keys and values (encodeURIComponent).`);
}

/**
 * decodeURIComponent, with its result and errors, but ASCII escapes (`%2F`, `%3A`, `%20`: nearly all a device sends)
 * are decoded here: the builtin costs ~120 ns more per call, several calls per message on the ingest hot path.
 * Anything else — a multi-byte UTF-8 sequence or a malformed escape — goes to the builtin for the whole text.
 */
function decode(text: string, bag: string): string {
  let i = text.indexOf('%');
  if (i < 0) return text; // the common case: nothing to decode
  const n = text.length;
  let out = '';
  let from = 0;
  while (i >= 0) {
    const hi = i + 2 < n ? hexDigit(text.charCodeAt(i + 1)) : -1;
    const lo = hi >= 0 ? hexDigit(text.charCodeAt(i + 2)) : -1;
    if (lo < 0 || hi >= 8) {
      try {
        return decodeURIComponent(text);
      } catch {
        throw badEncoding(bag);
      }
    }
    out += text.slice(from, i) + String.fromCharCode((hi << 4) | lo);
    from = i + 3;
    i = text.indexOf('%', from);
  }
  return out + text.slice(from);
}

/**
 * Parses a device→hub bag (the text after `…/messages/events/`). A trailing `/` (module outputs always end with one,
 * wire §2.2) and empty pairs are ignored; a key without `=` gets the empty string.
 * One pass over the text with indexOf (no split arrays); `=` is searched at most once per position, so a bag of many
 * pairs without `=` stays linear.
 */
export function parseDeviceBag(bag: string): ParsedBag {
  const result: ParsedBag = { system: {}, properties: {} };
  const end = bag.endsWith('/') ? bag.length - 1 : bag.length;
  let eq = -1; // the first `=` at or after `start`, once looked up
  for (let start = 0; start < end;) {
    let amp = bag.indexOf('&', start);
    if (amp < 0) amp = end;
    if (amp > start) {
      if (eq < start) {
        eq = bag.indexOf('=', start);
        if (eq < 0) eq = end;
      }
      const keyEnd = eq < amp ? eq : amp;
      // Decoded in the order decodeURIComponent would be called (key, then value): the same error either way.
      let field = rawSystemField(bag, start, keyEnd);
      const key = field === undefined ? decode(bag.slice(start, keyEnd), bag) : '';
      const value = eq < amp ? decode(bag.slice(eq + 1, amp), bag) : '';
      if (field === undefined && key !== '') {
        // Every system key starts with `$`: other keys skip the lookup.
        if (key.charCodeAt(0) === 0x24 && Object.hasOwn(SYSTEM_KEYS, key)) field = SYSTEM_KEYS[key as keyof typeof SYSTEM_KEYS];
        else result.properties[key] = value;
      }
      if (field !== undefined) result.system[field] = value;
    }
    start = amp + 1;
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
