import { randomBytes } from 'node:crypto';
import { TributaryError } from '../errors/index.ts';
import type { SharedAccessPolicy } from './policies.ts';

/**
 * IoT Hub connection strings (iothub-wire.md §1.1), parsed exactly as azure-iot-common's createDictionary does so
 * that whatever the SDK accepts we accept: split on `;`, each piece at its first `=` (values may contain `=`, e.g.
 * base64 padding), pieces without `=` or with an empty name or value dropped, the last of repeated keys wins, keys
 * case-sensitive, no trimming, no URL-decoding.
 */
export function parseConnectionString(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const piece of String(s).split(';')) {
    const eq = piece.indexOf('=');
    if (eq < 0) continue;
    const name = piece.slice(0, eq);
    const value = piece.slice(eq + 1);
    if (!name || !value) continue;
    // defineProperty, not assignment: a key named __proto__ must stay data, never touch the prototype.
    Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export interface ServiceConnectionString {
  hostName: string;
  keyName: string;
  key: string;
}

/** A service (policy) connection string; all three keys are required, as in azure-iothub's ConnectionString.parse. */
export function parseServiceConnectionString(s: string): ServiceConnectionString {
  const cs = parseConnectionString(s);
  const missing = ['HostName', 'SharedAccessKeyName', 'SharedAccessKey'].filter((k) => !(k in cs));
  if (missing.length > 0) {
    throw new TributaryError('ArgumentInvalid', `The service connection string is missing ${missing.join(', ')}; expected HostName=…;SharedAccessKeyName=…;SharedAccessKey=…`);
  }
  return { hostName: cs.HostName ?? '', keyName: cs.SharedAccessKeyName ?? '', key: cs.SharedAccessKey ?? '' };
}

function checkValue(name: string, value: string): string {
  // A ';' cannot be escaped in the grammar, and an empty value would be dropped by the parser.
  if (value === '' || value.includes(';')) {
    throw new TributaryError('ArgumentInvalid', `${name} '${value}' cannot be written into a connection string (empty or contains ';')`);
  }
  return value;
}

/** `HostName=…;SharedAccessKeyName=…;SharedAccessKey=…` with the policy's primary key, as the portal shows it. */
export function serviceConnectionString(o: { hostName: string; policy: SharedAccessPolicy }): string {
  return [
    `HostName=${checkValue('HostName', o.hostName)}`,
    `SharedAccessKeyName=${checkValue('SharedAccessKeyName', o.policy.keyName)}`,
    `SharedAccessKey=${checkValue('SharedAccessKey', o.policy.primaryKey)}`,
  ].join(';');
}

/**
 * A device or module connection string: `HostName;DeviceId[;ModuleId];SharedAccessKey|x509=true[;GatewayHostName]`.
 * `GatewayHostName` is where MQTT connects (it may carry `:port`, wire §0.1) while `HostName` stays in the token.
 */
export function deviceConnectionString(o: {
  hostName: string;
  deviceId: string;
  moduleId?: string;
  key?: string;
  x509?: boolean;
  gatewayHostName?: string;
}): string {
  if ((o.key === undefined) === (o.x509 !== true)) {
    throw new TributaryError('ArgumentInvalid', 'deviceConnectionString needs exactly one of key (symmetric key) or x509: true');
  }
  const parts = [`HostName=${checkValue('HostName', o.hostName)}`, `DeviceId=${checkValue('DeviceId', o.deviceId)}`];
  if (o.moduleId !== undefined) parts.push(`ModuleId=${checkValue('ModuleId', o.moduleId)}`);
  parts.push(o.key !== undefined ? `SharedAccessKey=${checkValue('SharedAccessKey', o.key)}` : 'x509=true');
  if (o.gatewayHostName !== undefined) parts.push(`GatewayHostName=${checkValue('GatewayHostName', o.gatewayHostName)}`);
  return parts.join(';');
}

/** A new shared key as IoT Hub generates them: base64 of 32 random bytes. */
export function generateSymmetricKey(): string {
  return randomBytes(32).toString('base64');
}
