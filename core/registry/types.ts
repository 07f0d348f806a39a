/**
 * The identity registry's public shapes: IoT Hub's Device and Module JSON exactly as the service REST API returns them
 * (iothub-wire.md §5.1; REST reference "Devices - Get Identity"), the bulk result, and what ingest needs to authenticate.
 */

export const AUTH_TYPES = ['sas', 'selfSigned', 'certificateAuthority', 'none'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

export type DeviceStatus = 'enabled' | 'disabled';
export type ConnectionState = 'Connected' | 'Disconnected';

/** IoT Hub's `AuthenticationMechanism`. Keys/thumbprints not used by the type are null. */
export interface AuthenticationJson {
  type: AuthType;
  symmetricKey: { primaryKey: string | null; secondaryKey: string | null };
  x509Thumbprint: { primaryThumbprint: string | null; secondaryThumbprint: string | null };
}

/** Common to devices and modules. Times are ISO strings; "never" is IoT Hub's `0001-01-01T00:00:00Z`. */
interface IdentityJsonBase {
  deviceId: string;
  /** Random 18-digit string, new on every create: tells a re-created identity from the deleted one. */
  generationId: string;
  /** Base64 of the identity's version ("MA==" right after create); what If-Match is compared with. */
  etag: string;
  connectionState: ConnectionState;
  connectionStateUpdatedTime: string;
  lastActivityTime: string;
  cloudToDeviceMessageCount: number;
  authentication: AuthenticationJson;
}

export interface DeviceJson extends IdentityJsonBase {
  status: DeviceStatus;
  statusReason: string | null;
  statusUpdatedTime: string;
  capabilities: { iotEdge: boolean };
  deviceScope: string | null;
  parentScopes: string[];
}

/** Module JSON: no status, capabilities or scopes (IoT Hub's generated Module model). */
export interface ModuleJson extends IdentityJsonBase {
  moduleId: string;
  managedBy: string | null;
}

export interface BulkError {
  deviceId: string;
  /** IoT Hub's error name, e.g. DeviceAlreadyExists, PreconditionFailed. */
  errorCode: string;
  /** Human-readable reason (IoT Hub puts the message here). */
  errorStatus: string;
  moduleId: string | null;
  /** The item's import mode as sent (create, Update, DeleteIfMatchETag, …). */
  operation: string;
}

export interface BulkResult {
  isSuccessful: boolean;
  errors: BulkError[];
  warnings: Array<{ deviceId: string; warningCode: string; warningStatus: string }>;
}

export interface RegistryStatistics {
  totalDeviceCount: number;
  enabledDeviceCount: number;
  disabledDeviceCount: number;
}

/**
 * What device authentication needs about one identity (ingest caches it and drops the entry on `onChange`).
 * Modules have no status of their own: a module is enabled exactly when its device is.
 */
export interface IdentityCredentials {
  deviceId: string;
  moduleId?: string;
  generationId: string;
  status: DeviceStatus;
  authType: AuthType;
  primaryKey: string | null;
  secondaryKey: string | null;
  /** Upper-case hex (SHA-1: 40 chars, SHA-256: 64 chars). */
  primaryThumbprint: string | null;
  secondaryThumbprint: string | null;
  /** The device's `capabilities.iotEdge` (for modules: their device's). */
  iotEdge: boolean;
}

export type RegistryChangeKind = 'created' | 'updated' | 'deleted' | 'credentialsChanged' | 'enabled' | 'disabled';

export interface RegistryChange {
  deviceId: string;
  moduleId?: string;
  kind: RegistryChangeKind;
}

export interface ConnectionStateUpdate {
  deviceId: string;
  moduleId?: string;
  connected: boolean;
  at: Date;
}

export interface ActivityUpdate {
  deviceId: string;
  moduleId?: string;
  at: Date;
}
