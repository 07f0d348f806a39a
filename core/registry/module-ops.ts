/**
 * Module create/update/delete inside one store transaction (see device-ops.ts for the Outcome contract).
 */
import { TributaryError } from '../errors/index.ts';
import type { Transaction } from '../store/types.ts';
import { credentialsDiffer, resolveAuthentication } from './credentials.ts';
import { deviceNotFound, type Outcome } from './device-ops.ts';
import { lifecycleEvent } from './events.ts';
import type { ModuleInput } from './identity-input.ts';
import { checkEtag, newGenerationId } from './ids.ts';
import { moduleJson, storedAuthOf } from './json-mapping.ts';
import * as repo from './repository.ts';
import type { ModuleJson, RegistryChange } from './types.ts';

export function moduleNotFound(deviceId: string, moduleId: string): TributaryError {
  return new TributaryError('ModuleNotFound', `module "${moduleId}" is not registered on device "${deviceId}"; create it first (PUT without If-Match)`, {
    details: { deviceId, moduleId },
  });
}

/** Locks the device row (FOR SHARE) so it cannot be deleted while a module is written under it. */
async function requireDevice(tx: Transaction, deviceId: string): Promise<void> {
  const rows = await tx.query('SELECT 1 FROM devices WHERE device_id = $1 FOR SHARE', [deviceId]);
  if (rows.length === 0) throw deviceNotFound(deviceId);
}

export async function createModule(tx: Transaction, deviceId: string, moduleId: string, input: ModuleInput, now: Date): Promise<Outcome<ModuleJson>> {
  await requireDevice(tx, deviceId);
  const auth = resolveAuthentication(input.authentication, undefined);
  const row = await repo.insertModule(tx, deviceId, moduleId, { ...auth, generationId: newGenerationId(), version: 0, managedBy: input.managedBy ?? null });
  if (row === undefined) {
    throw new TributaryError('ModuleAlreadyExistsOnDevice', `module "${moduleId}" already exists on device "${deviceId}"; update it with If-Match (an etag or *) or delete it first`, {
      details: { deviceId, moduleId },
    });
  }
  await repo.insertTwin(tx, deviceId, moduleId);
  const json = moduleJson(row);
  return { result: json, changes: [{ deviceId, moduleId, kind: 'created' }], events: [lifecycleEvent('createModuleIdentity', json, now)] };
}

export async function updateModule(tx: Transaction, deviceId: string, moduleId: string, input: ModuleInput, ifMatch: string | undefined, now: Date): Promise<Outcome<ModuleJson>> {
  await requireDevice(tx, deviceId);
  const row = await repo.selectModule(tx, deviceId, moduleId, true);
  if (row === undefined) throw moduleNotFound(deviceId, moduleId);
  checkEtag(ifMatch, row.etag, `module "${moduleId}" of device "${deviceId}"`);
  const before = storedAuthOf(row);
  const auth = resolveAuthentication(input.authentication, before);
  const managedBy = input.managedBy === undefined ? row.managed_by : input.managedBy;
  const credentialsChanged = credentialsDiffer(before, auth);
  if (!credentialsChanged && managedBy === row.managed_by) return { result: moduleJson(row), changes: [], events: [] };

  const updated = await repo.updateModule(tx, deviceId, moduleId, { ...auth, generationId: row.generation_id, version: row.version + 1, managedBy });
  const changes: RegistryChange[] = [{ deviceId, moduleId, kind: 'updated' }];
  if (credentialsChanged) changes.push({ deviceId, moduleId, kind: 'credentialsChanged' });
  const json = moduleJson(updated);
  return { result: json, changes, events: [lifecycleEvent('updateModuleIdentity', json, now)] };
}

export async function deleteModule(tx: Transaction, deviceId: string, moduleId: string, ifMatch: string | undefined, now: Date): Promise<Outcome<void>> {
  await requireDevice(tx, deviceId);
  const row = await repo.selectModule(tx, deviceId, moduleId, true);
  if (row === undefined) throw moduleNotFound(deviceId, moduleId);
  checkEtag(ifMatch, row.etag, `module "${moduleId}" of device "${deviceId}"`);
  // The module twin goes with it (twins_module foreign key, ON DELETE CASCADE in 0002).
  await repo.deleteModuleRow(tx, deviceId, moduleId);
  return {
    result: undefined,
    changes: [{ deviceId, moduleId, kind: 'deleted' }],
    events: [lifecycleEvent('deleteModuleIdentity', moduleJson(row), now)],
  };
}
