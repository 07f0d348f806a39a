import { TributaryError } from '../core/errors/index.ts';

/** The API version the official SDKs send (iothub-wire.md §5) and the one documents are written against. */
export const DEFAULT_API_VERSION = '2021-04-12';

/**
 * IoT Hub requires `api-version` on every call. Tributary serves one set of shapes for every version, so any
 * well-formed date version is accepted and a missing one defaults (friendlier for curl); a malformed one is refused.
 */
export function checkApiVersion(value: unknown): string {
  if (value === undefined) return DEFAULT_API_VERSION;
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}(-preview)?$/.test(value)) return value;
  throw new TributaryError('InvalidProtocolVersion', `api-version "${String(value)}" is not a version this hub serves; use ${DEFAULT_API_VERSION}`);
}
