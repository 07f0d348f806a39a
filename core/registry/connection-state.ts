/**
 * connectionState / lastActivityTime written in bulk: ingest collects what happened over a short interval and calls
 * once, and each call is at most two statements (devices, modules) whatever the number of updates, by passing arrays
 * and joining on unnest(). Neither bumps the etag: IoT Hub does not version an identity for its runtime status, and
 * bumping it would make every If-Match update race with device traffic.
 *
 * Updates arrive out of order across ingest nodes, so a row only moves forward in time: a connection state older
 * than the stored one is ignored, and lastActivityTime is the greatest seen.
 */
import type { Queryable } from '../store/types.ts';
import type { ActivityUpdate, ConnectionStateUpdate } from './types.ts';

interface Latest<T> {
  deviceId: string;
  moduleId: string | undefined;
  at: Date;
  value: T;
}

/** Keeps the newest update per identity (the later one in the array wins a tie), so one row is matched once. */
function newestPerIdentity<T>(updates: Array<{ deviceId: string; moduleId?: string; at: Date }>, valueOf: (i: number) => T): Array<Latest<T>> {
  const byKey = new Map<string, Latest<T>>();
  updates.forEach((u, i) => {
    if (!(u.at instanceof Date) || Number.isNaN(u.at.getTime())) return;
    const key = u.moduleId === undefined ? `d\u0000${u.deviceId}` : `m\u0000${u.deviceId}\u0000${u.moduleId}`;
    const seen = byKey.get(key);
    if (seen === undefined || seen.at.getTime() <= u.at.getTime()) byKey.set(key, { deviceId: u.deviceId, moduleId: u.moduleId, at: u.at, value: valueOf(i) });
  });
  return [...byKey.values()];
}

export async function writeConnectionStates(q: Queryable, updates: ConnectionStateUpdate[]): Promise<void> {
  const latest = newestPerIdentity(updates, (i) => (updates[i]!.connected ? 'Connected' : 'Disconnected'));
  const devices = latest.filter((u) => u.moduleId === undefined);
  const modules = latest.filter((u) => u.moduleId !== undefined);
  if (devices.length > 0) {
    await q.query(
      `UPDATE devices AS d SET connection_state = u.state, connection_state_updated_time = u.at
         FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(device_id, state, at)
        WHERE d.device_id = u.device_id
          AND (d.connection_state_updated_time IS NULL OR d.connection_state_updated_time <= u.at)`,
      [devices.map((u) => u.deviceId), devices.map((u) => u.value), devices.map((u) => u.at.toISOString())],
    );
  }
  if (modules.length > 0) {
    await q.query(
      `UPDATE modules AS m SET connection_state = u.state, connection_state_updated_time = u.at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS u(device_id, module_id, state, at)
        WHERE m.device_id = u.device_id AND m.module_id = u.module_id
          AND (m.connection_state_updated_time IS NULL OR m.connection_state_updated_time <= u.at)`,
      [modules.map((u) => u.deviceId), modules.map((u) => u.moduleId), modules.map((u) => u.value), modules.map((u) => u.at.toISOString())],
    );
  }
}

export async function writeActivity(q: Queryable, updates: ActivityUpdate[]): Promise<void> {
  const latest = newestPerIdentity(updates, () => null);
  const devices = latest.filter((u) => u.moduleId === undefined);
  const modules = latest.filter((u) => u.moduleId !== undefined);
  // GREATEST ignores NULL in PostgreSQL, so a first activity simply sets the column.
  if (devices.length > 0) {
    await q.query(
      `UPDATE devices AS d SET last_activity_time = GREATEST(d.last_activity_time, u.at)
         FROM unnest($1::text[], $2::timestamptz[]) AS u(device_id, at)
        WHERE d.device_id = u.device_id AND (d.last_activity_time IS NULL OR d.last_activity_time < u.at)`,
      [devices.map((u) => u.deviceId), devices.map((u) => u.at.toISOString())],
    );
  }
  if (modules.length > 0) {
    await q.query(
      `UPDATE modules AS m SET last_activity_time = GREATEST(m.last_activity_time, u.at)
         FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(device_id, module_id, at)
        WHERE m.device_id = u.device_id AND m.module_id = u.module_id
          AND (m.last_activity_time IS NULL OR m.last_activity_time < u.at)`,
      [modules.map((u) => u.deviceId), modules.map((u) => u.moduleId), modules.map((u) => u.at.toISOString())],
    );
  }
}
