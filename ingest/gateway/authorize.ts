/**
 * Topic authorisation (DESIGN.md §7): a connection acts only inside its own namespace. A device may use
 * `devices/{itself}/…`; a module may use `devices/{its device}/modules/{itself}/…`; neither may address the other
 * (a device cannot publish as one of its modules, a module cannot read its device's C2D queue). Ids compare exactly,
 * since IoT Hub ids are case-sensitive. Adapters parse their frames into an address; this decides.
 */
import type { DeviceIdentity } from './types.ts';

export interface Address {
  deviceId: string;
  moduleId?: string | undefined;
}

export function isOwnNamespace(identity: Pick<DeviceIdentity, 'deviceId' | 'moduleId'>, address: Address): boolean {
  return identity.deviceId === address.deviceId && (identity.moduleId ?? undefined) === (address.moduleId ?? undefined);
}

/** A reason for logs when `isOwnNamespace` said no. */
export function namespaceViolation(identity: Pick<DeviceIdentity, 'deviceId' | 'moduleId'>, address: Address): string {
  const own = identity.moduleId ? `${identity.deviceId}/${identity.moduleId}` : identity.deviceId;
  const target = address.moduleId ? `${address.deviceId}/${address.moduleId}` : address.deviceId;
  return `${own} may not use the topics of ${target}`;
}
