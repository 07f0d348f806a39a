/**
 * IoT Hub's shared-access model (iothub-wire.md §1, IoT Hub "Control access with shared access signatures"):
 * hub-level policies, each with two keys and a set of permissions. The service REST API checks a request's policy
 * SAS token against the permission the operation needs; devices authenticate with their own keys or certificates.
 */
export const PERMISSIONS = ['RegistryRead', 'RegistryWrite', 'ServiceConnect', 'DeviceConnect'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface SharedAccessPolicy {
  readonly keyName: string;
  /** Base64 of 32 random bytes, as IoT Hub generates them. */
  readonly primaryKey: string;
  readonly secondaryKey: string;
  readonly rights: readonly Permission[];
}

/** The policies every IoT hub is created with, and their permissions. */
export const DEFAULT_POLICIES: ReadonlyArray<{ keyName: string; rights: readonly Permission[] }> = [
  { keyName: 'iothubowner', rights: ['RegistryRead', 'RegistryWrite', 'ServiceConnect', 'DeviceConnect'] },
  { keyName: 'service', rights: ['ServiceConnect'] },
  { keyName: 'device', rights: ['DeviceConnect'] },
  { keyName: 'registryRead', rights: ['RegistryRead'] },
  { keyName: 'registryReadWrite', rights: ['RegistryRead', 'RegistryWrite'] },
];

/** RegistryWrite implies RegistryRead in IoT Hub; a policy with write can always read. */
export function hasPermission(policy: Pick<SharedAccessPolicy, 'rights'>, required: Permission): boolean {
  return policy.rights.includes(required) || (required === 'RegistryRead' && policy.rights.includes('RegistryWrite'));
}
