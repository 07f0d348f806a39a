/**
 * What callers send, turned into section changes: the service's PATCH body (`{"tags":…,"properties":{"desired":…}}`,
 * iothub-wire.md §5.2), the service's PUT body (a whole twin; tags and desired are replaced), a device's reported
 * patch (MQTT `$iothub/twin/PATCH/properties/reported`, §2.2) and the section patches of TwinUpdate records.
 */
import { TributaryError } from '../errors/index.ts';
import type { JsonObject } from './document.ts';
import { isJsonObject, parseSection } from './patch.ts';

/** Changes to apply, per section; an absent section is left alone. */
export interface TwinChanges {
  tags?: JsonObject;
  desired?: JsonObject;
  reported?: JsonObject;
}

/** A whole-twin replacement: both sections are replaced (absent = emptied); reported properties belong to the device. */
export interface TwinReplacement {
  tags: JsonObject;
  desired: JsonObject;
}

function bodyObject(body: unknown, what: string): JsonObject {
  if (!isJsonObject(body)) throw new TributaryError('ArgumentInvalid', `${what} must be a JSON object such as {"tags":{…},"properties":{"desired":{…}}}`);
  return body;
}

/** `properties`, with the rule IoT Hub applies to the back end: reported properties are the device's to write. */
function propertiesOf(body: JsonObject): JsonObject | undefined {
  const properties = body.properties;
  if (properties === undefined || properties === null) return undefined;
  if (!isJsonObject(properties)) throw new TributaryError('ArgumentInvalid', 'properties must be a JSON object such as {"desired":{…}}', { details: { path: 'properties' } });
  if (properties.reported !== undefined && properties.reported !== null && !isEmptyReported(properties.reported)) {
    throw new TributaryError('ArgumentInvalid', 'properties.reported cannot be written by the service; only the device reports them (send tags and properties.desired only)', {
      details: { path: 'properties.reported' },
    });
  }
  return properties;
}

/** A twin read with GET carries reported `$metadata`/`$version`; sending it back unchanged is not a write to reported. */
function isEmptyReported(reported: unknown): boolean {
  return isJsonObject(reported) && Object.keys(reported).every((k) => k === '$metadata' || k === '$version');
}

/**
 * Service PATCH body. Identity fields a caller may send back with a twin it read (deviceId, etag, status, …) are
 * ignored, as IoT Hub ignores them; the etag condition travels in If-Match.
 */
export function parseServicePatch(body: unknown): TwinChanges {
  const object = bodyObject(body, 'the twin patch');
  const changes: TwinChanges = {};
  if (object.tags !== undefined && object.tags !== null) changes.tags = parseSection('tags', object.tags);
  const desired = propertiesOf(object)?.desired;
  if (desired !== undefined && desired !== null) changes.desired = parseSection('desired', desired);
  return changes;
}

/** Service PUT body: the new tags and desired properties; what the body leaves out is removed. */
export function parseReplacement(body: unknown): TwinReplacement {
  const object = bodyObject(body, 'the twin');
  const desired = propertiesOf(object)?.desired;
  return {
    tags: object.tags === undefined || object.tags === null ? {} : parseSection('tags', object.tags),
    desired: desired === undefined || desired === null ? {} : parseSection('desired', desired),
  };
}

/** JSON text of a patch (device reported patch, TwinUpdate records); the message says which request was bad. */
export function parseJsonText(text: string | null | undefined, what: string): unknown {
  if (text === null || text === undefined || text.trim() === '') throw new TributaryError('ArgumentNull', `${what} has no body; send a JSON object`);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new TributaryError('ArgumentInvalid', `${what} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}
