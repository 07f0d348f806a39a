/**
 * IoT Hub's twin limits ("Understand and use device twins": Tags and properties format, Twin size; iothub-wire.md
 * §7.1). Every violation is ArgumentInvalid (400004), the code IoT Hub answers a twin patch it cannot accept with,
 * and the message names the path so the caller knows which key to fix.
 */
import { TributaryError } from '../errors/index.ts';
import type { JsonObject, JsonValue } from './document.ts';

export const TWIN_LIMITS = {
  /** Bytes of `tags` (keys plus values; $metadata and $version excluded). */
  tagsBytes: 8 * 1024,
  /** Bytes of `properties.desired`, and separately of `properties.reported`. */
  propertiesBytes: 32 * 1024,
  /** Levels of JSON objects below the section root. */
  maxDepth: 10,
  /** Characters of a key. */
  keyLength: 1024,
  /** Characters of a string value. */
  stringLength: 4 * 1024,
  /** IoT Hub's integer range (a signed 53-bit value). */
  minInteger: -4503599627370496,
  maxInteger: 4503599627370495,
} as const;

export type TwinSectionName = 'tags' | 'desired' | 'reported';

/** The name used in messages: what the caller wrote in their JSON. */
export function sectionPath(section: TwinSectionName): string {
  return section === 'tags' ? 'tags' : `properties.${section}`;
}

function invalid(message: string, path: string): TributaryError {
  return new TributaryError('ArgumentInvalid', message, { details: { path } });
}

// C0 (U+0000–U+001F, U+007F) and C1 (U+0080–U+009F) control characters.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Keys: ≤ 1 KB, and none of control characters, `.`, `$` or space — `$` names are the hub's ($metadata, $version). */
export function checkKey(key: string, path: string): void {
  const where = path === '' ? key : `${path}.${key}`;
  if (key === '') throw invalid(`empty key at ${path || 'the section root'}; twin keys must be non-empty`, where);
  if (key.length > TWIN_LIMITS.keyLength) throw invalid(`key at ${path || 'the section root'} is ${key.length} characters long; twin keys are at most ${TWIN_LIMITS.keyLength}`, where);
  if (key.includes('$')) throw invalid(`key "${key}" at ${where} contains '$', which is reserved for the hub's keys ($metadata, $version); rename it`, where);
  if (key.includes('.') || key.includes(' ') || CONTROL.test(key)) {
    throw invalid(`key ${JSON.stringify(key)} at ${where} contains '.', a space or a control character, which twin keys may not; rename it`, where);
  }
}

/**
 * Checks one patch (or a replacement section) value by value: key rules, value types and ranges, object depth.
 * `null` is allowed anywhere: in a patch it deletes, in a replacement it means "absent".
 */
export function checkPatch(section: TwinSectionName, patch: JsonObject): void {
  walk(patch, sectionPath(section), 1);
}

function walk(object: JsonObject, path: string, depth: number): void {
  if (depth > TWIN_LIMITS.maxDepth) {
    throw invalid(`${path} nests objects ${depth} levels deep; twins allow at most ${TWIN_LIMITS.maxDepth} levels`, path);
  }
  for (const [key, value] of Object.entries(object)) {
    checkKey(key, path);
    checkValue(value, `${path}.${key}`, depth);
  }
}

function checkValue(value: JsonValue, path: string, depth: number): void {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'string') {
    if (value.length > TWIN_LIMITS.stringLength) throw invalid(`${path} is a string of ${value.length} characters; twin string values are at most ${TWIN_LIMITS.stringLength}`, path);
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(`${path} is not a finite number`, path);
    if (Number.isInteger(value) && (value < TWIN_LIMITS.minInteger || value > TWIN_LIMITS.maxInteger)) {
      throw invalid(`${path} is ${value}, outside the integer range twins allow (${TWIN_LIMITS.minInteger} to ${TWIN_LIMITS.maxInteger}); send it as a string`, path);
    }
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (item !== null && typeof item === 'object' && !Array.isArray(item)) walk(item, `${path}[${i}]`, depth + 1);
      else checkValue(item, `${path}[${i}]`, depth);
    });
    return;
  }
  if (typeof value === 'object') {
    walk(value, path, depth + 1);
    return;
  }
  throw invalid(`${path} is not a JSON value`, path);
}

/**
 * A section's size as IoT Hub counts it: every key and every value, keys and strings in UTF-8 bytes (control
 * characters not counted), numbers 8 bytes, booleans 4; nested objects and arrays are the sum of what they hold.
 */
export function sectionSize(value: JsonValue): number {
  if (value === null) return 0;
  if (typeof value === 'string') return textSize(value);
  if (typeof value === 'number') return 8;
  if (typeof value === 'boolean') return 4;
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + sectionSize(item), 0);
  let sum = 0;
  for (const [key, item] of Object.entries(value)) sum += textSize(key) + sectionSize(item);
  return sum;
}

function textSize(text: string): number {
  let n = 0;
  for (const ch of text) if (!CONTROL.test(ch)) n += Buffer.byteLength(ch, 'utf8');
  return n;
}

/** Throws when the section, as it would be after the change, is over its limit (IoT Hub rejects the whole change). */
export function checkSectionSize(section: TwinSectionName, values: JsonObject): void {
  const limit = section === 'tags' ? TWIN_LIMITS.tagsBytes : TWIN_LIMITS.propertiesBytes;
  const size = sectionSize(values);
  if (size > limit) {
    const path = sectionPath(section);
    throw invalid(`${path} would be ${size} bytes after this change; IoT Hub allows at most ${limit} (keys plus values, without $metadata); remove or shorten properties`, path);
  }
}
