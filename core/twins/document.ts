/**
 * Rows of `twins` (migration 0002) joined with their identity (`devices`, `modules`, migration 0001) to IoT Hub's twin
 * JSON exactly as the service REST API returns it (iothub-wire.md §5.2; REST reference "Devices - Get Twin", model
 * `Twin`). Shared by the twin REST routes, the twins processor and the query engine (`POST /devices/query`), so one
 * twin looks the same wherever it is read.
 *
 * Query builders: `SELECT ${TWIN_SELECT} WHERE … ORDER BY …`. The aliases are stable: `t` = twins, `d` = devices,
 * `m` = modules (NULL columns for device twins). A device twin has `t.module_id = ''`.
 */
import { NEVER } from '../registry/json-mapping.ts';
import type { AuthType, ConnectionState, DeviceStatus } from '../registry/types.ts';

/** The select list and FROM/JOIN clause a twin document needs (no leading SELECT, no WHERE). */
export const TWIN_SELECT = `t.device_id, t.module_id, t.etag, t.version, t.model_id, t.tags,
  t.desired, t.desired_version, t.desired_metadata, t.reported, t.reported_version, t.reported_metadata, t.created_at,
  coalesce(m.etag, d.etag) AS identity_etag, d.status, d.status_reason, d.status_updated_time,
  coalesce(m.connection_state, d.connection_state) AS connection_state,
  CASE WHEN t.module_id = '' THEN d.last_activity_time ELSE m.last_activity_time END AS last_activity_time,
  coalesce(m.cloud_to_device_message_count, d.cloud_to_device_message_count) AS cloud_to_device_message_count,
  coalesce(m.auth_type, d.auth_type) AS auth_type,
  CASE WHEN t.module_id = '' THEN d.primary_thumbprint ELSE m.primary_thumbprint END AS primary_thumbprint,
  CASE WHEN t.module_id = '' THEN d.secondary_thumbprint ELSE m.secondary_thumbprint END AS secondary_thumbprint,
  d.capabilities
  FROM twins t
  JOIN devices d ON d.device_id = t.device_id
  LEFT JOIN modules m ON m.device_id = t.device_id AND m.module_id = t.module_id AND t.module_id <> ''`;

/** One row of `SELECT ${TWIN_SELECT}`. */
export interface TwinRow extends Record<string, unknown> {
  device_id: string;
  /** '' for a device twin. */
  module_id: string;
  etag: string;
  version: number;
  /** '' when the device announced no DTDL model id. */
  model_id: string;
  tags: JsonObject;
  desired: JsonObject;
  desired_version: number;
  desired_metadata: JsonObject;
  reported: JsonObject;
  reported_version: number;
  reported_metadata: JsonObject;
  created_at: Date;
  identity_etag: string;
  status: DeviceStatus;
  status_reason: string | null;
  status_updated_time: Date | null;
  connection_state: ConnectionState;
  last_activity_time: Date | null;
  cloud_to_device_message_count: number;
  auth_type: AuthType;
  primary_thumbprint: string | null;
  secondary_thumbprint: string | null;
  capabilities: { iotEdge?: boolean };
}

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject { [key: string]: JsonValue }

/** A properties section as IoT Hub shows it: the values plus `$metadata` and `$version`. */
export type TwinSection = JsonObject & { $metadata: JsonObject; $version: number };

/** IoT Hub's twin JSON (model `Twin`); `moduleId` only on module twins, `capabilities` only on device twins. */
export interface TwinDocument {
  deviceId: string;
  moduleId?: string;
  etag: string;
  deviceEtag: string;
  status: DeviceStatus;
  statusReason?: string;
  statusUpdateTime: string;
  connectionState: ConnectionState;
  lastActivityTime: string;
  cloudToDeviceMessageCount: number;
  authenticationType: AuthType;
  x509Thumbprint: { primaryThumbprint: string | null; secondaryThumbprint: string | null };
  modelId: string;
  version: number;
  capabilities?: { iotEdge: boolean };
  tags: JsonObject;
  properties: { desired: TwinSection; reported: TwinSection };
}

function time(value: Date | null): string {
  return value === null ? NEVER : value.toISOString();
}

/**
 * `$metadata` of a section. A twin never patched still carries the root `$lastUpdated` (its creation time) and, for
 * desired, `$lastUpdatedVersion`, as IoT Hub shows them on a fresh twin.
 */
function sectionMetadata(stored: JsonObject, createdAt: Date, desiredVersion?: number): JsonObject {
  const metadata: JsonObject = { $lastUpdated: createdAt.toISOString() };
  if (desiredVersion !== undefined) metadata.$lastUpdatedVersion = desiredVersion;
  return { ...metadata, ...stored };
}

export function twinSection(values: JsonObject, metadata: JsonObject, version: number, createdAt: Date, desired: boolean): TwinSection {
  return { ...values, $metadata: sectionMetadata(metadata, createdAt, desired ? version : undefined), $version: version };
}

export function twinDocument(row: TwinRow): TwinDocument {
  const isModule = row.module_id !== '';
  return {
    deviceId: row.device_id,
    ...(isModule ? { moduleId: row.module_id } : {}),
    etag: row.etag,
    deviceEtag: row.identity_etag,
    status: row.status,
    ...(row.status_reason === null ? {} : { statusReason: row.status_reason }),
    statusUpdateTime: time(row.status_updated_time),
    connectionState: row.connection_state,
    lastActivityTime: time(row.last_activity_time),
    cloudToDeviceMessageCount: row.cloud_to_device_message_count,
    authenticationType: row.auth_type,
    x509Thumbprint: { primaryThumbprint: row.primary_thumbprint, secondaryThumbprint: row.secondary_thumbprint },
    modelId: row.model_id,
    version: row.version,
    ...(isModule ? {} : { capabilities: { iotEdge: row.capabilities.iotEdge === true } }),
    tags: row.tags,
    properties: {
      desired: twinSection(row.desired, row.desired_metadata, row.desired_version, row.created_at, true),
      reported: twinSection(row.reported, row.reported_metadata, row.reported_version, row.created_at, false),
    },
  };
}
