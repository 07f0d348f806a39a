/**
 * The identity registry (IoT Hub's devices, modules and shared access policies) on the Store, with the semantics the
 * service REST API and the `azure-iothub` SDK rely on (iothub-wire.md §5.1). Writes run in one store transaction each;
 * what changed is announced after COMMIT — to in-process listeners (`onChange`) and, given a log and serde, as
 * DeviceLifecycleEvents on `iot.device.lifecycle`.
 */
import type { SharedAccessPolicy } from '../auth/policies.ts';
import { TributaryError } from '../errors/index.ts';
import type { Log } from '../log/types.ts';
import { componentLogger, type Logger } from '../logging/logger.ts';
import type { AvroSerde } from '../serde/avro-serde.ts';
import type { Store, Transaction } from '../store/types.ts';
import { applyBulk } from './bulk.ts';
import { writeActivity, writeConnectionStates } from './connection-state.ts';
import { createDevice, deleteDevice, deviceNotFound, updateDevice, type Outcome } from './device-ops.ts';
import { RegistryEvents } from './events.ts';
import { parseDeviceBody, parseModuleBody } from './identity-input.ts';
import { assertUserModuleId, validateDeviceId, validateModuleId } from './ids.ts';
import { deviceJson, moduleJson } from './json-mapping.ts';
import { createModule, deleteModule, moduleNotFound, updateModule } from './module-ops.ts';
import * as policies from './policies.ts';
import * as repo from './repository.ts';
import type {
  ActivityUpdate, BulkResult, ConnectionStateUpdate, DeviceJson, IdentityCredentials, ModuleJson, RegistryChange, RegistryStatistics,
} from './types.ts';

export interface DeviceRegistryOptions {
  store: Store;
  /** The hub's name, carried in lifecycle event headers as IoT Hub's `hubName` property. */
  hubName: string;
  /** With `serde`: where lifecycle events go. Without either, no events are produced. */
  log?: Log;
  serde?: AvroSerde;
  logger?: Logger;
}

/** IoT Hub's GET /devices returns at most 1000 identities. */
export const LIST_MAX = 1000;

export class DeviceRegistry {
  private readonly store: Store;
  private readonly events: RegistryEvents;

  constructor(o: DeviceRegistryOptions) {
    this.store = o.store;
    this.events = new RegistryEvents(o.logger ?? componentLogger('registry'), o.hubName, o.log, o.serde);
  }

  /** Runs one write in a transaction, then announces it (only once it committed). */
  private async write<T>(fn: (tx: Transaction, now: Date) => Promise<Outcome<T>>): Promise<T> {
    const now = new Date();
    const outcome = await this.store.transaction((tx) => fn(tx, now));
    await this.announce(outcome.changes, outcome.events);
    return outcome.result;
  }

  private async announce(changes: RegistryChange[], events: Outcome<unknown>['events']): Promise<void> {
    this.events.notify(changes);
    await this.events.publish(events);
  }

  /** PUT /devices/{id}: without ifMatch → create; with ifMatch ('*' or an etag, quoted or not) → update. */
  async putDevice(deviceId: string, body: unknown, ifMatch?: string): Promise<DeviceJson> {
    validateDeviceId(deviceId);
    const input = parseDeviceBody(body, deviceId);
    return this.write((tx, now) => (ifMatch === undefined ? createDevice(tx, deviceId, input, now) : updateDevice(tx, deviceId, input, ifMatch, now)));
  }

  async getDevice(deviceId: string): Promise<DeviceJson> {
    validateDeviceId(deviceId);
    const row = await repo.selectDevice(this.store, deviceId);
    if (row === undefined) throw deviceNotFound(deviceId);
    return deviceJson(row);
  }

  /** Devices in id order, at most `top` (default and maximum 1000, as IoT Hub). */
  async listDevices(o: { top?: number } = {}): Promise<DeviceJson[]> {
    const top = o.top ?? LIST_MAX;
    if (!Number.isInteger(top) || top < 1) throw new TributaryError('ArgumentInvalid', `top must be a positive integer, got ${String(top)}`, { details: { field: 'top' } });
    return (await repo.listDeviceRows(this.store, Math.min(top, LIST_MAX))).map(deviceJson);
  }

  /** Deletes the device with its modules and twins in one transaction (ON DELETE CASCADE). */
  async deleteDevice(deviceId: string, ifMatch?: string): Promise<void> {
    validateDeviceId(deviceId);
    await this.write((tx, now) => deleteDevice(tx, deviceId, ifMatch, now));
  }

  async putModule(deviceId: string, moduleId: string, body: unknown, ifMatch?: string): Promise<ModuleJson> {
    validateDeviceId(deviceId);
    validateModuleId(moduleId);
    assertUserModuleId(moduleId);
    const input = parseModuleBody(body, deviceId, moduleId);
    return this.write((tx, now) => (ifMatch === undefined
      ? createModule(tx, deviceId, moduleId, input, now)
      : updateModule(tx, deviceId, moduleId, input, ifMatch, now)));
  }

  async getModule(deviceId: string, moduleId: string): Promise<ModuleJson> {
    validateDeviceId(deviceId);
    validateModuleId(moduleId);
    const row = await repo.selectModule(this.store, deviceId, moduleId);
    if (row !== undefined) return moduleJson(row);
    throw (await repo.deviceExists(this.store, deviceId)) ? moduleNotFound(deviceId, moduleId) : deviceNotFound(deviceId);
  }

  async listModules(deviceId: string): Promise<ModuleJson[]> {
    validateDeviceId(deviceId);
    const rows = await repo.listModuleRows(this.store, deviceId);
    if (rows.length === 0 && !(await repo.deviceExists(this.store, deviceId))) throw deviceNotFound(deviceId);
    return rows.map(moduleJson);
  }

  async deleteModule(deviceId: string, moduleId: string, ifMatch?: string): Promise<void> {
    validateDeviceId(deviceId);
    validateModuleId(moduleId);
    assertUserModuleId(moduleId);
    await this.write((tx, now) => deleteModule(tx, deviceId, moduleId, ifMatch, now));
  }

  /** POST /devices (see bulk.ts): each item applied on its own; changes announced together at the end. */
  async bulk(operations: unknown[]): Promise<BulkResult> {
    const outcome = await applyBulk(this.store, operations);
    await this.announce(outcome.changes, outcome.events);
    return outcome.result;
  }

  async statistics(): Promise<RegistryStatistics> {
    return repo.countDevices(this.store);
  }

  /** Creates the missing default policies with fresh keys (base64 of 32 random bytes); existing keys are kept. */
  async ensureDefaultPolicies(): Promise<SharedAccessPolicy[]> {
    return policies.ensureDefaultPolicies(this.store);
  }

  async getPolicy(keyName: string): Promise<SharedAccessPolicy | undefined> {
    return policies.getPolicy(this.store, keyName);
  }

  async listPolicies(): Promise<SharedAccessPolicy[]> {
    return policies.listPolicies(this.store);
  }

  async rotatePolicyKey(keyName: string, which: 'primary' | 'secondary'): Promise<SharedAccessPolicy> {
    return policies.rotatePolicyKey(this.store, keyName, which);
  }

  /** For ingest authentication; undefined for an unknown identity. Callers cache it and drop entries on onChange. */
  async getCredentials(deviceId: string, moduleId?: string): Promise<IdentityCredentials | undefined> {
    return repo.selectCredentials(this.store, deviceId, moduleId);
  }

  /** `getCredentials` for many identities at once, keyed `deviceId` or `deviceId/moduleId` (ingest batches connects). */
  async getCredentialsMany(ids: ReadonlyArray<{ deviceId: string; moduleId?: string }>): Promise<Map<string, IdentityCredentials>> {
    return repo.selectCredentialsMany(this.store, ids);
  }

  /** At most two statements per call whatever the number of updates (see connection-state.ts). */
  async recordConnectionStates(updates: ConnectionStateUpdate[]): Promise<void> {
    if (updates.length > 0) await writeConnectionStates(this.store, updates);
  }

  async recordActivity(updates: ActivityUpdate[]): Promise<void> {
    if (updates.length > 0) await writeActivity(this.store, updates);
  }

  /** In-process notification after a committed change (cache invalidation); returns the unsubscribe function. */
  onChange(listener: (event: RegistryChange) => void): () => void {
    return this.events.onChange(listener);
  }
}
