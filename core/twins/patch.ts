/**
 * The twin merge semantics of IoT Hub ("Understand and use device twins": Back-end operations, Device operations,
 * Twin metadata), as pure functions over one section (tags, desired or reported) and its `$metadata`:
 * - a patch is merged key by key, objects recursively; `null` deletes the key (and its metadata);
 * - every leaf written gets `$lastUpdated` (and, in desired, `$lastUpdatedVersion` = the section's new `$version`);
 *   every object level on the way down, and the section root, get the same stamp, so `$lastUpdated` of a level is
 *   the last time anything under it changed;
 * - arrays are values (replaced whole, one metadata leaf), as IoT Hub treats them.
 * Replacing a section (service PUT) is expressed as the patch from the old section to the new one (`diffSections`),
 * so untouched leaves keep their metadata and devices are notified of exactly what changed.
 */
import { TributaryError } from '../errors/index.ts';
import type { JsonObject, JsonValue } from './document.ts';
import { checkPatch, sectionPath, type TwinSectionName } from './limits.ts';

export interface Stamp {
  /** ISO-8601 with milliseconds, `YYYY-MM-DDTHH:MM:SS.mmmZ` (iothub-wire.md §5.2). */
  lastUpdated: string;
  /** The desired section's new `$version`; absent for tags and reported. */
  lastUpdatedVersion?: number;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function leafMetadata(stamp: Stamp): JsonObject {
  return stamp.lastUpdatedVersion === undefined
    ? { $lastUpdated: stamp.lastUpdated }
    : { $lastUpdated: stamp.lastUpdated, $lastUpdatedVersion: stamp.lastUpdatedVersion };
}

/** Metadata of a freshly written value: leaves and every object level stamped. */
function freshMetadata(value: JsonObject, stamp: Stamp): JsonObject {
  const metadata: JsonObject = {};
  for (const [key, item] of Object.entries(value)) metadata[key] = isJsonObject(item) ? freshMetadata(item, stamp) : leafMetadata(stamp);
  return Object.assign(metadata, leafMetadata(stamp));
}

/** A value as stored: nulls inside a new object mean "absent" (there is nothing to delete yet). */
function withoutNulls(value: JsonValue): JsonValue {
  if (!isJsonObject(value)) return Array.isArray(value) ? value.map((item) => (isJsonObject(item) ? withoutNulls(item) : item)) : value;
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) if (item !== null) out[key] = withoutNulls(item);
  return out;
}

function mergeInto(values: JsonObject, metadata: JsonObject, patch: JsonObject, stamp: Stamp): void {
  for (const [key, change] of Object.entries(patch)) {
    if (change === null) {
      delete values[key];
      delete metadata[key];
      continue;
    }
    const current = values[key];
    if (isJsonObject(change) && isJsonObject(current)) {
      const childMetadata = isJsonObject(metadata[key]) ? metadata[key] : {};
      mergeInto(current, childMetadata, change, stamp);
      metadata[key] = childMetadata;
      continue;
    }
    const stored = withoutNulls(change);
    values[key] = stored;
    metadata[key] = isJsonObject(stored) ? freshMetadata(stored, stamp) : leafMetadata(stamp);
  }
  Object.assign(metadata, leafMetadata(stamp));
}

/** Returns the section and its metadata after the patch; the inputs are not modified. */
export function applySectionPatch(values: JsonObject, metadata: JsonObject, patch: JsonObject, stamp: Stamp): { values: JsonObject; metadata: JsonObject } {
  const nextValues = structuredClone(values);
  const nextMetadata = structuredClone(metadata);
  mergeInto(nextValues, nextMetadata, patch, stamp);
  return { values: nextValues, metadata: nextMetadata };
}

function deepEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i] as JsonValue));
  if (isJsonObject(a) && isJsonObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k] as JsonValue, b[k] as JsonValue));
  }
  return false;
}

/** The patch that turns `from` into `to` (nulls for removed keys); empty when they are equal. */
export function diffSections(from: JsonObject, to: JsonObject): JsonObject {
  const patch: JsonObject = {};
  for (const key of Object.keys(from)) if (!Object.hasOwn(to, key) || to[key] === null) patch[key] = null;
  for (const [key, next] of Object.entries(to)) {
    if (next === null) continue;
    const previous = from[key];
    if (previous === undefined) patch[key] = withoutNulls(next);
    else if (isJsonObject(previous) && isJsonObject(next)) {
      const sub = diffSections(previous, next);
      if (Object.keys(sub).length > 0) patch[key] = sub;
    } else if (!deepEqual(previous, next)) patch[key] = withoutNulls(next);
  }
  return patch;
}

/** The hub's own keys at a section root, ignored when a caller sends back a twin it read (GET then PUT). */
const READ_ONLY_ROOT_KEYS = new Set(['$metadata', '$version']);

/**
 * Validates a caller's section (a patch or a replacement): a JSON object whose keys and values obey the twin rules.
 * `$metadata`/`$version` at the root are dropped, not refused, so a twin read with GET can be sent back as it is.
 */
export function parseSection(section: TwinSectionName, raw: unknown): JsonObject {
  if (!isJsonObject(raw)) {
    throw new TributaryError('ArgumentInvalid', `${sectionPath(section)} must be a JSON object, not ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`, {
      details: { path: sectionPath(section) },
    });
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(raw)) if (!READ_ONLY_ROOT_KEYS.has(key)) out[key] = value;
  checkPatch(section, out);
  return out;
}
