/**
 * Reads a Device or Module JSON body as IoT Hub does: the writable fields are checked (type errors name the field
 * path), unknown fields and read-only fields (generationId, etag, connectionState, …) are ignored — the SDK sends back
 * whole objects it got from a GET, with its own defaults such as `cloudToDeviceMessageCount: '0'`.
 */
import { TributaryError } from '../errors/index.ts';
import { AUTH_TYPES, type AuthType, type DeviceStatus } from './types.ts';

/** The authentication section as sent, before keys are generated or kept (see resolveAuthentication). */
export interface AuthInput {
  type: AuthType;
  primaryKey: string | undefined;
  secondaryKey: string | undefined;
  primaryThumbprint: string | undefined;
  secondaryThumbprint: string | undefined;
}

export interface DeviceInput {
  /** undefined: keep (update) or `enabled` (create). */
  status: DeviceStatus | undefined;
  statusReason: string | null | undefined;
  authentication: AuthInput | undefined;
  iotEdge: boolean | undefined;
  deviceScope: string | null | undefined;
  parentScopes: string[] | undefined;
}

export interface ModuleInput {
  managedBy: string | null | undefined;
  authentication: AuthInput | undefined;
}

function invalid(path: string, message: string): TributaryError {
  return new TributaryError('ArgumentInvalid', `${path} ${message}`, { details: { field: path } });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** A string field where null and undefined both mean "not given". */
function optString(obj: Record<string, unknown>, key: string, path: string): string | null | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string') throw invalid(`${path}${key}`, `must be a string, got ${describe(value)}`);
  return value;
}

export function requireObject(body: unknown, what: string): Record<string, unknown> {
  if (!isObject(body)) throw invalid('body', `must be a JSON object (${what}), got ${describe(body)}`);
  return body;
}

/** The id in the body, when given, must be the one in the path (IoT Hub refuses a mismatch). */
export function checkBodyId(body: Record<string, unknown>, key: 'deviceId' | 'moduleId', expected: string): void {
  const value = body[key];
  if (value === undefined || value === null || value === '') return;
  if (value !== expected) {
    throw invalid(key, `in the body (${JSON.stringify(value)}) does not match the id in the request path ("${expected}"); send the same id in both`);
  }
}

function parseAuthType(value: unknown): AuthType {
  if (typeof value !== 'string') throw invalid('authentication.type', `must be one of ${AUTH_TYPES.join(', ')}, got ${describe(value)}`);
  // IoT Hub's enum binding is case-insensitive ("SelfSigned" and "selfSigned" both work).
  const found = AUTH_TYPES.find((t) => t.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw invalid('authentication.type', `must be one of ${AUTH_TYPES.join(', ')}, got "${value}"`);
  return found;
}

export function parseAuthentication(value: unknown): AuthInput | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalid('authentication', `must be an object, got ${describe(value)}`);
  const sym = value.symmetricKey ?? undefined;
  const x509 = value.x509Thumbprint ?? undefined;
  if (sym !== undefined && !isObject(sym)) throw invalid('authentication.symmetricKey', `must be an object, got ${describe(sym)}`);
  if (x509 !== undefined && !isObject(x509)) throw invalid('authentication.x509Thumbprint', `must be an object, got ${describe(x509)}`);
  const nonEmpty = (v: string | null | undefined) => (v === null || v === '' ? undefined : v);
  const primaryKey = sym && nonEmpty(optString(sym, 'primaryKey', 'authentication.symmetricKey.'));
  const secondaryKey = sym && nonEmpty(optString(sym, 'secondaryKey', 'authentication.symmetricKey.'));
  const primaryThumbprint = x509 && nonEmpty(optString(x509, 'primaryThumbprint', 'authentication.x509Thumbprint.'));
  const secondaryThumbprint = x509 && nonEmpty(optString(x509, 'secondaryThumbprint', 'authentication.x509Thumbprint.'));
  // Without a type, infer it as the SDK's _normalizeAuthentication does: thumbprints mean selfSigned, else sas.
  const type = value.type === undefined || value.type === null
    ? (primaryThumbprint ?? secondaryThumbprint) !== undefined ? 'selfSigned' : 'sas'
    : parseAuthType(value.type);
  return { type, primaryKey, secondaryKey, primaryThumbprint, secondaryThumbprint };
}

function parseStatus(value: unknown): DeviceStatus | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'enabled' || lower === 'disabled') return lower;
  }
  throw invalid('status', `must be "enabled" or "disabled", got ${typeof value === 'string' ? `"${value}"` : describe(value)}`);
}

export function parseDeviceBody(body: unknown, deviceId: string): DeviceInput {
  const obj = requireObject(body, 'a device identity');
  checkBodyId(obj, 'deviceId', deviceId);
  const statusReason = optString(obj, 'statusReason', '');
  if (typeof statusReason === 'string' && statusReason.length > 128) throw invalid('statusReason', `must be at most 128 characters, got ${statusReason.length}`);

  let iotEdge: boolean | undefined;
  const capabilities = obj.capabilities;
  if (capabilities !== undefined && capabilities !== null) {
    if (!isObject(capabilities)) throw invalid('capabilities', `must be an object, got ${describe(capabilities)}`);
    const edge = capabilities.iotEdge;
    if (edge !== undefined && edge !== null && typeof edge !== 'boolean') throw invalid('capabilities.iotEdge', `must be a boolean, got ${describe(edge)}`);
    iotEdge = edge ?? undefined;
  }

  let parentScopes: string[] | undefined;
  const scopes = obj.parentScopes;
  if (scopes !== undefined && scopes !== null) {
    if (!Array.isArray(scopes)) throw invalid('parentScopes', `must be an array of strings, got ${describe(scopes)}`);
    scopes.forEach((s, i) => {
      if (typeof s !== 'string') throw invalid(`parentScopes[${i}]`, `must be a string, got ${describe(s)}`);
    });
    parentScopes = scopes as string[];
  }

  return {
    status: parseStatus(obj.status),
    statusReason,
    authentication: parseAuthentication(obj.authentication),
    iotEdge,
    deviceScope: optString(obj, 'deviceScope', ''),
    parentScopes,
  };
}

export function parseModuleBody(body: unknown, deviceId: string, moduleId: string): ModuleInput {
  const obj = requireObject(body, 'a module identity');
  checkBodyId(obj, 'deviceId', deviceId);
  checkBodyId(obj, 'moduleId', moduleId);
  return { managedBy: optString(obj, 'managedBy', ''), authentication: parseAuthentication(obj.authentication) };
}
