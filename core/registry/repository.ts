/**
 * The registry's SQL, one function per statement, on any Queryable (the store or a transaction handle). Shared by
 * PostgreSQL and PGlite: parameters only, arrays and JSON passed as the store contract says (core/store/types.ts).
 */
import type { Queryable } from '../store/types.ts';
import type { StoredAuth } from './credentials.ts';
import { etagOf, twinEtagOf } from './ids.ts';
import { DEVICE_COLUMNS, MODULE_COLUMNS, type DeviceRow, type ModuleRow } from './json-mapping.ts';
import type { DeviceStatus, IdentityCredentials, RegistryStatistics } from './types.ts';

export interface DeviceValues extends StoredAuth {
  generationId: string;
  version: number;
  status: DeviceStatus;
  statusReason: string | null;
  statusUpdatedTime: Date | null;
  iotEdge: boolean;
  deviceScope: string | null;
  parentScopes: string[];
}

export interface ModuleValues extends StoredAuth {
  generationId: string;
  version: number;
  managedBy: string | null;
}

export async function selectDevice(q: Queryable, deviceId: string, forUpdate = false): Promise<DeviceRow | undefined> {
  const rows = await q.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE device_id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [deviceId]);
  return rows[0];
}

function deviceParams(deviceId: string, v: DeviceValues): unknown[] {
  return [
    deviceId, v.generationId, etagOf(v.version), v.version, v.status, v.statusReason, v.statusUpdatedTime?.toISOString() ?? null,
    v.authType, v.primaryKey, v.secondaryKey, v.primaryThumbprint, v.secondaryThumbprint,
    { iotEdge: v.iotEdge }, v.deviceScope, JSON.stringify(v.parentScopes),
  ];
}

/** Inserts a device; undefined when the id is taken (no unique-violation error, so the transaction stays usable). */
export async function insertDevice(q: Queryable, deviceId: string, v: DeviceValues): Promise<DeviceRow | undefined> {
  const rows = await q.query<DeviceRow>(
    `INSERT INTO devices (device_id, generation_id, etag, version, status, status_reason, status_updated_time, auth_type,
       primary_key, secondary_key, primary_thumbprint, secondary_thumbprint, capabilities, device_scope, parent_scopes)
     VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $8, $9, $10, $11, $12, $13::jsonb, $14, $15::jsonb)
     ON CONFLICT (device_id) DO NOTHING
     RETURNING ${DEVICE_COLUMNS}`,
    deviceParams(deviceId, v),
  );
  return rows[0];
}

export async function updateDevice(q: Queryable, deviceId: string, v: DeviceValues): Promise<DeviceRow> {
  const rows = await q.query<DeviceRow>(
    `UPDATE devices SET generation_id = $2, etag = $3, version = $4, status = $5, status_reason = $6,
       status_updated_time = $7::timestamptz, auth_type = $8, primary_key = $9, secondary_key = $10,
       primary_thumbprint = $11, secondary_thumbprint = $12, capabilities = $13::jsonb, device_scope = $14,
       parent_scopes = $15::jsonb, updated_at = now()
     WHERE device_id = $1
     RETURNING ${DEVICE_COLUMNS}`,
    deviceParams(deviceId, v),
  );
  return rows[0]!;
}

/** Deletes the device; modules and twins go with it through the ON DELETE CASCADE keys of 0001/0002. */
export async function deleteDeviceRow(q: Queryable, deviceId: string): Promise<void> {
  await q.query('DELETE FROM devices WHERE device_id = $1', [deviceId]);
}

export async function listDeviceRows(q: Queryable, top: number): Promise<DeviceRow[]> {
  return q.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY device_id LIMIT $1`, [top]);
}

export async function selectModule(q: Queryable, deviceId: string, moduleId: string, forUpdate = false): Promise<ModuleRow | undefined> {
  const rows = await q.query<ModuleRow>(
    `SELECT ${MODULE_COLUMNS} FROM modules WHERE device_id = $1 AND module_id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [deviceId, moduleId],
  );
  return rows[0];
}

function moduleParams(deviceId: string, moduleId: string, v: ModuleValues): unknown[] {
  return [deviceId, moduleId, v.generationId, etagOf(v.version), v.version, v.managedBy, v.authType, v.primaryKey, v.secondaryKey,
    v.primaryThumbprint, v.secondaryThumbprint];
}

export async function insertModule(q: Queryable, deviceId: string, moduleId: string, v: ModuleValues): Promise<ModuleRow | undefined> {
  const rows = await q.query<ModuleRow>(
    `INSERT INTO modules (device_id, module_id, generation_id, etag, version, managed_by, auth_type, primary_key, secondary_key,
       primary_thumbprint, secondary_thumbprint)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (device_id, module_id) DO NOTHING
     RETURNING ${MODULE_COLUMNS}`,
    moduleParams(deviceId, moduleId, v),
  );
  return rows[0];
}

export async function updateModule(q: Queryable, deviceId: string, moduleId: string, v: ModuleValues): Promise<ModuleRow> {
  const rows = await q.query<ModuleRow>(
    `UPDATE modules SET generation_id = $3, etag = $4, version = $5, managed_by = $6, auth_type = $7, primary_key = $8,
       secondary_key = $9, primary_thumbprint = $10, secondary_thumbprint = $11, updated_at = now()
     WHERE device_id = $1 AND module_id = $2
     RETURNING ${MODULE_COLUMNS}`,
    moduleParams(deviceId, moduleId, v),
  );
  return rows[0]!;
}

export async function deleteModuleRow(q: Queryable, deviceId: string, moduleId: string): Promise<void> {
  await q.query('DELETE FROM modules WHERE device_id = $1 AND module_id = $2', [deviceId, moduleId]);
}

export async function listModuleRows(q: Queryable, deviceId: string): Promise<ModuleRow[]> {
  return q.query<ModuleRow>(`SELECT ${MODULE_COLUMNS} FROM modules WHERE device_id = $1 ORDER BY module_id`, [deviceId]);
}

export async function moduleIdsOf(q: Queryable, deviceId: string): Promise<string[]> {
  const rows = await q.query<{ module_id: string }>('SELECT module_id FROM modules WHERE device_id = $1 ORDER BY module_id', [deviceId]);
  return rows.map((r) => r.module_id);
}

/**
 * The identity's twin, empty: tags {}, desired and reported {} at $version 1 (the column defaults of 0002), so twin
 * reads and patches find a row from the moment the identity exists, as in IoT Hub. moduleId '' is the device twin.
 */
export async function insertTwin(q: Queryable, deviceId: string, moduleId = ''): Promise<void> {
  await q.query(
    `INSERT INTO twins (device_id, module_id, etag) VALUES ($1, $2, $3) ON CONFLICT (device_id, module_id) DO NOTHING`,
    [deviceId, moduleId, twinEtagOf(1)],
  );
}

export async function deviceExists(q: Queryable, deviceId: string): Promise<boolean> {
  return (await q.query('SELECT 1 FROM devices WHERE device_id = $1', [deviceId])).length > 0;
}

export async function countDevices(q: Queryable): Promise<RegistryStatistics> {
  const [row] = await q.query<{ total: number; enabled: number; disabled: number }>(
    `SELECT count(*) AS total, count(*) FILTER (WHERE status = 'enabled') AS enabled,
            count(*) FILTER (WHERE status = 'disabled') AS disabled
       FROM devices`,
  );
  return { totalDeviceCount: row?.total ?? 0, enabledDeviceCount: row?.enabled ?? 0, disabledDeviceCount: row?.disabled ?? 0 };
}

interface CredentialsRow extends Record<string, unknown> {
  generation_id: string;
  status: IdentityCredentials['status'];
  auth_type: IdentityCredentials['authType'];
  primary_key: string | null;
  secondary_key: string | null;
  primary_thumbprint: string | null;
  secondary_thumbprint: string | null;
  iot_edge: boolean | null;
}

/** One indexed lookup per identity; a module takes its device's status (a disabled device's modules cannot connect). */
export async function selectCredentials(q: Queryable, deviceId: string, moduleId?: string): Promise<IdentityCredentials | undefined> {
  const rows = moduleId === undefined
    ? await q.query<CredentialsRow>(
      `SELECT generation_id, status, auth_type, primary_key, secondary_key, primary_thumbprint, secondary_thumbprint,
              (capabilities->>'iotEdge')::boolean AS iot_edge
         FROM devices WHERE device_id = $1`, [deviceId])
    : await q.query<CredentialsRow>(
      `SELECT m.generation_id, d.status, m.auth_type, m.primary_key, m.secondary_key, m.primary_thumbprint,
              m.secondary_thumbprint, (d.capabilities->>'iotEdge')::boolean AS iot_edge
         FROM modules m JOIN devices d ON d.device_id = m.device_id
        WHERE m.device_id = $1 AND m.module_id = $2`, [deviceId, moduleId]);
  const row = rows[0];
  return row === undefined ? undefined : credentialsOf(row, deviceId, moduleId);
}

function credentialsOf(row: CredentialsRow, deviceId: string, moduleId: string | undefined): IdentityCredentials {
  return {
    deviceId,
    ...(moduleId === undefined ? {} : { moduleId }),
    generationId: row.generation_id,
    status: row.status,
    authType: row.auth_type,
    primaryKey: row.primary_key,
    secondaryKey: row.secondary_key,
    primaryThumbprint: row.primary_thumbprint,
    secondaryThumbprint: row.secondary_thumbprint,
    iotEdge: row.iot_edge === true,
  };
}

/**
 * `selectCredentials` for many identities in at most two statements (devices, modules): ingest batches the lookups
 * of concurrent connects. Keyed `deviceId` or `deviceId/moduleId`; unknown identities are absent.
 */
export async function selectCredentialsMany(q: Queryable, ids: ReadonlyArray<{ deviceId: string; moduleId?: string }>): Promise<Map<string, IdentityCredentials>> {
  const out = new Map<string, IdentityCredentials>();
  const deviceIds = ids.filter((i) => i.moduleId === undefined).map((i) => i.deviceId);
  const modules = ids.filter((i): i is { deviceId: string; moduleId: string } => i.moduleId !== undefined);
  if (deviceIds.length > 0) {
    const rows = await q.query<CredentialsRow & { device_id: string }>(
      `SELECT device_id, generation_id, status, auth_type, primary_key, secondary_key, primary_thumbprint, secondary_thumbprint,
              (capabilities->>'iotEdge')::boolean AS iot_edge
         FROM devices WHERE device_id = ANY($1::text[])`, [deviceIds]);
    for (const row of rows) out.set(row.device_id, credentialsOf(row, row.device_id, undefined));
  }
  if (modules.length > 0) {
    const rows = await q.query<CredentialsRow & { device_id: string; module_id: string }>(
      `SELECT m.device_id, m.module_id, m.generation_id, d.status, m.auth_type, m.primary_key, m.secondary_key,
              m.primary_thumbprint, m.secondary_thumbprint, (d.capabilities->>'iotEdge')::boolean AS iot_edge
         FROM unnest($1::text[], $2::text[]) AS k(device_id, module_id)
         JOIN modules m ON m.device_id = k.device_id AND m.module_id = k.module_id
         JOIN devices d ON d.device_id = m.device_id`, [modules.map((m) => m.deviceId), modules.map((m) => m.moduleId)]);
    for (const row of rows) out.set(`${row.device_id}/${row.module_id}`, credentialsOf(row, row.device_id, row.module_id));
  }
  return out;
}
