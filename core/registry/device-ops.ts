/**
 * Device create/update/delete inside one store transaction. Each returns what to announce once the transaction has
 * committed (in-process changes and lifecycle events), so the REST path and the bulk path announce the same things.
 */
import { TributaryError } from '../errors/index.ts';
import type { DeviceLifecycleEvent } from '../serde/records.ts';
import type { Transaction } from '../store/types.ts';
import { credentialsDiffer, resolveAuthentication, type StoredAuth } from './credentials.ts';
import { lifecycleEvent } from './events.ts';
import type { DeviceInput } from './identity-input.ts';
import { checkEtag, EDGE_SYSTEM_MODULES, newGenerationId, newSymmetricKey } from './ids.ts';
import { deviceJson, storedAuthOf, type DeviceRow } from './json-mapping.ts';
import * as repo from './repository.ts';
import type { DeviceJson, RegistryChange } from './types.ts';

export interface Outcome<T> {
  result: T;
  changes: RegistryChange[];
  events: DeviceLifecycleEvent[];
}

export function deviceNotFound(deviceId: string): TributaryError {
  return new TributaryError('DeviceNotFound', `device "${deviceId}" is not registered; create it first (PUT /devices/${encodeURIComponent(deviceId)} without If-Match)`, {
    details: { deviceId },
  });
}

/** IoT Edge devices get their own scope, `ms-azure-iot-edge://{deviceId}-{generationId}`, which children name as parent. */
function edgeScope(deviceId: string, generationId: string): string {
  return `ms-azure-iot-edge://${deviceId}-${generationId}`;
}

/** IoT Hub creates $edgeAgent and $edgeHub with every edge device (sas keys, twins of their own). */
async function ensureEdgeSystemModules(tx: Transaction, deviceId: string): Promise<RegistryChange[]> {
  const changes: RegistryChange[] = [];
  for (const moduleId of EDGE_SYSTEM_MODULES) {
    const row = await repo.insertModule(tx, deviceId, moduleId, {
      generationId: newGenerationId(), version: 0, managedBy: null, authType: 'sas',
      primaryKey: newSymmetricKey(), secondaryKey: newSymmetricKey(), primaryThumbprint: null, secondaryThumbprint: null,
    });
    if (row !== undefined) {
      await repo.insertTwin(tx, deviceId, moduleId);
      changes.push({ deviceId, moduleId, kind: 'created' });
    }
  }
  return changes;
}

export async function createDevice(tx: Transaction, deviceId: string, input: DeviceInput, now: Date): Promise<Outcome<DeviceJson>> {
  const auth = resolveAuthentication(input.authentication, undefined);
  const generationId = newGenerationId();
  const iotEdge = input.iotEdge ?? false;
  const deviceScope = input.deviceScope ?? (iotEdge ? edgeScope(deviceId, generationId) : null);
  const row = await repo.insertDevice(tx, deviceId, {
    ...auth,
    generationId,
    version: 0,
    status: input.status ?? 'enabled',
    statusReason: input.statusReason ?? null,
    statusUpdatedTime: null,
    iotEdge,
    deviceScope,
    // A leaf device's parent scope is the scope it was given (its edge parent's); an edge device's is its own parent's.
    parentScopes: input.parentScopes ?? (!iotEdge && deviceScope !== null ? [deviceScope] : []),
  });
  if (row === undefined) {
    throw new TributaryError('DeviceAlreadyExists', `device "${deviceId}" already exists; update it with If-Match (an etag or *) or delete it first`, {
      details: { deviceId },
    });
  }
  await repo.insertTwin(tx, deviceId);
  const changes: RegistryChange[] = [{ deviceId, kind: 'created' }];
  if (iotEdge) changes.push(...(await ensureEdgeSystemModules(tx, deviceId)));
  const json = deviceJson(row);
  return { result: json, changes, events: [lifecycleEvent('createDeviceIdentity', json, now)] };
}

function sameScopes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

export async function updateDevice(tx: Transaction, deviceId: string, input: DeviceInput, ifMatch: string | undefined, now: Date): Promise<Outcome<DeviceJson>> {
  const row = await repo.selectDevice(tx, deviceId, true);
  if (row === undefined) throw deviceNotFound(deviceId);
  checkEtag(ifMatch, row.etag, `device "${deviceId}"`);

  const before: StoredAuth = storedAuthOf(row);
  const auth = resolveAuthentication(input.authentication, before);
  const status = input.status ?? row.status;
  const statusReason = input.statusReason === undefined ? row.status_reason : input.statusReason;
  const wasEdge = row.capabilities.iotEdge === true;
  const iotEdge = input.iotEdge ?? wasEdge;
  const deviceScope = (input.deviceScope === undefined ? row.device_scope : input.deviceScope)
    ?? (iotEdge ? edgeScope(deviceId, row.generation_id) : null);
  const parentScopes = input.parentScopes ?? row.parent_scopes;

  const credentialsChanged = credentialsDiffer(before, auth);
  const statusChanged = status !== row.status;
  const changed = credentialsChanged || statusChanged || statusReason !== row.status_reason || iotEdge !== wasEdge
    || deviceScope !== row.device_scope || !sameScopes(parentScopes, row.parent_scopes);
  // A PUT that changes nothing keeps the etag and announces nothing, so retried requests do not churn caches.
  if (!changed) return { result: deviceJson(row), changes: [], events: [] };

  const updated: DeviceRow = await repo.updateDevice(tx, deviceId, {
    ...auth,
    generationId: row.generation_id,
    version: row.version + 1,
    status,
    statusReason,
    statusUpdatedTime: statusChanged ? now : row.status_updated_time,
    iotEdge,
    deviceScope,
    parentScopes,
  });
  const changes: RegistryChange[] = [{ deviceId, kind: 'updated' }];
  if (credentialsChanged) changes.push({ deviceId, kind: 'credentialsChanged' });
  if (statusChanged) changes.push({ deviceId, kind: status === 'enabled' ? 'enabled' : 'disabled' });
  if (iotEdge && !wasEdge) changes.push(...(await ensureEdgeSystemModules(tx, deviceId)));
  const json = deviceJson(updated);
  return { result: json, changes, events: [lifecycleEvent('updateDeviceIdentity', json, now)] };
}

export async function deleteDevice(tx: Transaction, deviceId: string, ifMatch: string | undefined, now: Date): Promise<Outcome<void>> {
  const row = await repo.selectDevice(tx, deviceId, true);
  if (row === undefined) throw deviceNotFound(deviceId);
  checkEtag(ifMatch, row.etag, `device "${deviceId}"`);
  const moduleIds = await repo.moduleIdsOf(tx, deviceId);
  await repo.deleteDeviceRow(tx, deviceId);
  const changes: RegistryChange[] = [{ deviceId, kind: 'deleted' }, ...moduleIds.map((moduleId) => ({ deviceId, moduleId, kind: 'deleted' as const }))];
  return { result: undefined, changes, events: [lifecycleEvent('deleteDeviceIdentity', deviceJson(row), now)] };
}
