/**
 * What enrich needs to know about the sender of a message, read from the store in one statement: the device's
 * identity status (modules have none in IoT Hub: a module's traffic follows its device's status) and the twin the
 * message came from — the module twin for module messages, as IoT Hub's enrichments and `$twin` route queries use.
 */
import { TributaryError } from '../../core/errors/index.ts';
import type { Queryable } from '../../core/store/types.ts';

/** The twin sections enrichments and route queries read, shaped like IoT Hub's twin document. */
export interface TwinView {
  version: number;
  tags: Record<string, unknown>;
  properties: { desired: Record<string, unknown>; reported: Record<string, unknown> };
}

export type DeviceLookup =
  | { kind: 'unknownDevice' }
  | { kind: 'unknownModule' }
  | { kind: 'found'; status: 'enabled' | 'disabled'; twin: TwinView | null };

interface LookupRow {
  status: string;
  module_exists: boolean | null;
  version: number | null;
  tags: Record<string, unknown> | null;
  desired: Record<string, unknown> | null;
  desired_version: number | null;
  reported: Record<string, unknown> | null;
  reported_version: number | null;
  [column: string]: unknown;
}

const LOOKUP_SQL = `
  SELECT d.status,
         CASE WHEN $2 = '' THEN NULL ELSE EXISTS (SELECT 1 FROM modules m WHERE m.device_id = d.device_id AND m.module_id = $2) END AS module_exists,
         t.version, t.tags, t.desired, t.desired_version, t.reported, t.reported_version
    FROM devices d
    LEFT JOIN twins t ON t.device_id = d.device_id AND t.module_id = $2
   WHERE d.device_id = $1`;

/**
 * Looks the sender up. Store failures are rethrown retriable (a non-TributaryError from the driver becomes
 * StoreUnavailable): the runtime then replays the batch instead of dead-lettering traffic of healthy devices.
 */
export async function lookupDevice(store: Queryable, deviceId: string, moduleId?: string | null): Promise<DeviceLookup> {
  let rows: LookupRow[];
  try {
    rows = await store.query<LookupRow>(LOOKUP_SQL, [deviceId, moduleId ?? '']);
  } catch (err) {
    if (err instanceof TributaryError && err.retriable) throw err;
    throw new TributaryError('StoreUnavailable', `device lookup for ${deviceId} failed: ${(err as Error).message}; the batch is retried once the store answers`, { cause: err });
  }
  const row = rows[0];
  if (!row) return { kind: 'unknownDevice' };
  if (moduleId && row.module_exists !== true) return { kind: 'unknownModule' };
  const twin: TwinView | null = row.version === null
    ? null
    : {
      version: Number(row.version),
      tags: row.tags ?? {},
      properties: {
        // $version as in IoT Hub's twin document, so `$twin.properties.desired.$version` resolves as it does there.
        desired: { ...(row.desired ?? {}), $version: Number(row.desired_version ?? 1) },
        reported: { ...(row.reported ?? {}), $version: Number(row.reported_version ?? 1) },
      },
    };
  return { kind: 'found', status: row.status === 'disabled' ? 'disabled' : 'enabled', twin };
}
