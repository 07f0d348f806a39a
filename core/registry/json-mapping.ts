/**
 * Rows of `devices`/`modules` (migration 0001) to IoT Hub's Device/Module JSON, and back to the lifecycle event's
 * secret-free identity text.
 */
import type { StoredAuth } from './credentials.ts';
import type { AuthenticationJson, AuthType, ConnectionState, DeviceJson, DeviceStatus, ModuleJson } from './types.ts';

/** IoT Hub's "never" (DateTime.MinValue). */
export const NEVER = '0001-01-01T00:00:00Z';

interface IdentityRowBase extends Record<string, unknown> {
  device_id: string;
  generation_id: string;
  etag: string;
  version: number;
  auth_type: AuthType;
  primary_key: string | null;
  secondary_key: string | null;
  primary_thumbprint: string | null;
  secondary_thumbprint: string | null;
  connection_state: ConnectionState;
  connection_state_updated_time: Date | null;
  last_activity_time: Date | null;
  cloud_to_device_message_count: number;
}

export interface DeviceRow extends IdentityRowBase {
  status: DeviceStatus;
  status_reason: string | null;
  status_updated_time: Date | null;
  capabilities: { iotEdge?: boolean };
  device_scope: string | null;
  parent_scopes: string[];
}

export interface ModuleRow extends IdentityRowBase {
  module_id: string;
  managed_by: string | null;
}

export const DEVICE_COLUMNS = `device_id, generation_id, etag, version, status, status_reason, status_updated_time, auth_type,
  primary_key, secondary_key, primary_thumbprint, secondary_thumbprint, capabilities, device_scope, parent_scopes,
  connection_state, connection_state_updated_time, last_activity_time, cloud_to_device_message_count`;

export const MODULE_COLUMNS = `device_id, module_id, generation_id, etag, version, managed_by, auth_type,
  primary_key, secondary_key, primary_thumbprint, secondary_thumbprint,
  connection_state, connection_state_updated_time, last_activity_time, cloud_to_device_message_count`;

function time(value: Date | null): string {
  return value === null ? NEVER : value.toISOString();
}

export function storedAuthOf(row: IdentityRowBase): StoredAuth {
  return {
    authType: row.auth_type,
    primaryKey: row.primary_key,
    secondaryKey: row.secondary_key,
    primaryThumbprint: row.primary_thumbprint,
    secondaryThumbprint: row.secondary_thumbprint,
  };
}

function authenticationJson(row: IdentityRowBase): AuthenticationJson {
  return {
    type: row.auth_type,
    symmetricKey: { primaryKey: row.primary_key, secondaryKey: row.secondary_key },
    x509Thumbprint: { primaryThumbprint: row.primary_thumbprint, secondaryThumbprint: row.secondary_thumbprint },
  };
}

export function deviceJson(row: DeviceRow): DeviceJson {
  return {
    deviceId: row.device_id,
    generationId: row.generation_id,
    etag: row.etag,
    connectionState: row.connection_state,
    connectionStateUpdatedTime: time(row.connection_state_updated_time),
    status: row.status,
    statusReason: row.status_reason,
    statusUpdatedTime: time(row.status_updated_time),
    lastActivityTime: time(row.last_activity_time),
    cloudToDeviceMessageCount: row.cloud_to_device_message_count,
    authentication: authenticationJson(row),
    capabilities: { iotEdge: row.capabilities.iotEdge === true },
    deviceScope: row.device_scope,
    parentScopes: row.parent_scopes,
  };
}

export function moduleJson(row: ModuleRow): ModuleJson {
  return {
    deviceId: row.device_id,
    moduleId: row.module_id,
    generationId: row.generation_id,
    etag: row.etag,
    connectionState: row.connection_state,
    connectionStateUpdatedTime: time(row.connection_state_updated_time),
    lastActivityTime: time(row.last_activity_time),
    cloudToDeviceMessageCount: row.cloud_to_device_message_count,
    managedBy: row.managed_by,
    authentication: authenticationJson(row),
  };
}

/** The identity as JSON text without symmetric keys: the schema forbids secrets on the log. Thumbprints are public. */
export function identityWithoutSecrets(identity: DeviceJson | ModuleJson): string {
  return JSON.stringify({
    ...identity,
    authentication: { ...identity.authentication, symmetricKey: { primaryKey: null, secondaryKey: null } },
  });
}
