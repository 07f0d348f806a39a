/**
 * POST /devices: IoT Hub's bulk registry operation (iothub-wire.md §5.1; REST "Bulk Registry - Update Registry").
 * 1 to 100 items, each `{ id, importMode, eTag?, …device fields }`. Every item is applied on its own, in its own
 * transaction: one failing item is reported in `errors` and does not undo the others (IoT Hub's semantics — the
 * response is 200 with isSuccessful false). Failures of the hub itself (store down) fail the whole request instead,
 * because reporting them per item would hide an outage behind a 200.
 */
import { TributaryError } from '../errors/index.ts';
import type { DeviceLifecycleEvent } from '../serde/records.ts';
import type { Store } from '../store/types.ts';
import { createDevice, deleteDevice, updateDevice, type Outcome } from './device-ops.ts';
import { parseDeviceBody } from './identity-input.ts';
import { validateDeviceId } from './ids.ts';
import type { BulkError, BulkResult, RegistryChange } from './types.ts';

export const BULK_MAX_ITEMS = 100;

type Mode = 'create' | 'update' | 'updateIfMatchETag' | 'delete' | 'deleteIfMatchETag';
const MODES: readonly Mode[] = ['create', 'update', 'updateIfMatchETag', 'delete', 'deleteIfMatchETag'];

export interface BulkOutcome {
  result: BulkResult;
  changes: RegistryChange[];
  events: DeviceLifecycleEvent[];
}

function modeOf(value: unknown): Mode {
  // The SDK sends `create` lower-case and `Update…`/`Delete…` capitalised; IoT Hub binds the enum case-insensitively.
  const mode = typeof value === 'string' ? MODES.find((m) => m.toLowerCase() === value.toLowerCase()) : undefined;
  if (mode === undefined) {
    throw new TributaryError('ArgumentInvalid', `importMode ${JSON.stringify(value) ?? 'undefined'} is not one of ${MODES.join(', ')}`, { details: { field: 'importMode' } });
  }
  return mode;
}

/** The item's etag: IoT Hub's ExportImportDevice calls it `eTag`; the SDK sends the device's own `etag` field. */
function etagOf(item: Record<string, unknown>): string | undefined {
  const value = item.eTag ?? item.etag;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function requireEtag(item: Record<string, unknown>, mode: Mode): string {
  const etag = etagOf(item);
  if (etag === undefined) {
    throw new TributaryError('ArgumentInvalid', `importMode ${mode} needs the item's eTag; send it, or use ${mode.startsWith('update') ? 'Update' : 'Delete'} to ignore etags`, { details: { field: 'eTag' } });
  }
  return etag;
}

async function applyItem(store: Store, item: Record<string, unknown>, deviceId: string, mode: Mode): Promise<Outcome<unknown>> {
  const now = new Date();
  switch (mode) {
    case 'create': {
      const input = parseDeviceBody(item, deviceId);
      return store.transaction((tx) => createDevice(tx, deviceId, input, now));
    }
    case 'update':
    case 'updateIfMatchETag': {
      const input = parseDeviceBody(item, deviceId);
      const ifMatch = mode === 'update' ? undefined : requireEtag(item, mode);
      return store.transaction((tx) => updateDevice(tx, deviceId, input, ifMatch, now));
    }
    case 'delete':
    case 'deleteIfMatchETag': {
      const ifMatch = mode === 'delete' ? undefined : requireEtag(item, mode);
      return store.transaction((tx) => deleteDevice(tx, deviceId, ifMatch, now));
    }
  }
}

export async function applyBulk(store: Store, operations: unknown): Promise<BulkOutcome> {
  if (!Array.isArray(operations)) {
    throw new TributaryError('ArgumentInvalid', 'bulk request body must be a JSON array of 1 to 100 device operations', { details: { field: 'body' } });
  }
  if (operations.length === 0) {
    throw new TributaryError('ArgumentInvalid', 'bulk request has no operations; send 1 to 100 items', { details: { field: 'body' } });
  }
  if (operations.length > BULK_MAX_ITEMS) {
    throw new TributaryError('TooManyDevices', `bulk request has ${operations.length} operations; IoT Hub accepts at most ${BULK_MAX_ITEMS} per request — split it`, {
      details: { count: operations.length, max: BULK_MAX_ITEMS },
    });
  }
  const errors: BulkError[] = [];
  const changes: RegistryChange[] = [];
  const events: DeviceLifecycleEvent[] = [];
  for (const [index, raw] of operations.entries()) {
    const item = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
    const shownId = typeof item?.id === 'string' ? item.id : '';
    const operation = typeof item?.importMode === 'string' ? item.importMode : '';
    try {
      if (item === undefined) throw new TributaryError('ArgumentInvalid', `item ${index} must be a JSON object with id and importMode`);
      const deviceId = validateDeviceId(item.id);
      const outcome = await applyItem(store, item, deviceId, modeOf(item.importMode));
      changes.push(...outcome.changes);
      events.push(...outcome.events);
    } catch (err) {
      if (!(err instanceof TributaryError) || err.status >= 500) throw err;
      errors.push({ deviceId: shownId, errorCode: err.code, errorStatus: err.message, moduleId: null, operation });
    }
  }
  return { result: { isSuccessful: errors.length === 0, errors, warnings: [] }, changes, events };
}
