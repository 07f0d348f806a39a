/**
 * Persistent session state (CleanSession 0) in the shared Store (migration 0005-sessions.sql), so every ingest node
 * can restore a client's subscriptions whichever node it reconnects to (iothub-wire.md §0.4, DESIGN.md §6).
 * Written only when subscriptions change — rare next to telemetry — and read (or, for CleanSession 1, deleted) once per
 * connect, batched over concurrent connects.
 */
import type { Store } from '../../core/store/types.ts';
import { LookupBatcher } from './lookup-batcher.ts';

export interface StoredSubscription {
  topic: string;
  qos: 0 | 1;
}

export interface SessionStore {
  /** The stored subscriptions, or undefined when the client id has no session. */
  load(clientId: string): Promise<StoredSubscription[] | undefined>;
  save(clientId: string, owner: { deviceId: string; moduleId?: string }, subscriptions: StoredSubscription[]): Promise<void>;
  /** Ends a session (a CleanSession 1 connect discards the previous one, [MQTT-3.1.2-6]). */
  remove(clientId: string): Promise<void>;
}

interface SessionRow extends Record<string, unknown> {
  subscriptions: unknown;
}

function parseSubscriptions(value: unknown): StoredSubscription[] {
  const list = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  if (!Array.isArray(list)) return [];
  return list.flatMap((s: unknown) => {
    const o = s as { topic?: unknown; qos?: unknown };
    return typeof o.topic === 'string' && (o.qos === 0 || o.qos === 1) ? [{ topic: o.topic, qos: o.qos }] : [];
  });
}

export class StoreSessionStore implements SessionStore {
  /** Every connect loads or removes its session: concurrent connects share one statement (lookup-batcher.ts). */
  private readonly loads: LookupBatcher<string, StoredSubscription[]>;
  private readonly removals: LookupBatcher<string, never>;

  constructor(private readonly store: Store) {
    this.loads = new LookupBatcher(async (clientIds) => {
      const rows = await this.store.query<SessionRow & { client_id: string }>(
        'SELECT client_id, subscriptions FROM mqtt_sessions WHERE client_id = ANY($1::text[])', [clientIds]);
      return new Map(rows.map((row) => [row.client_id, parseSubscriptions(row.subscriptions)]));
    }, (clientId) => clientId);
    this.removals = new LookupBatcher<string, never>(async (clientIds) => {
      await this.store.query('DELETE FROM mqtt_sessions WHERE client_id = ANY($1::text[])', [clientIds]);
      return new Map<string, never>();
    }, (clientId) => clientId);
  }

  load(clientId: string): Promise<StoredSubscription[] | undefined> {
    return this.loads.get(clientId);
  }

  async save(clientId: string, owner: { deviceId: string; moduleId?: string }, subscriptions: StoredSubscription[]): Promise<void> {
    await this.store.query(
      `INSERT INTO mqtt_sessions (client_id, device_id, module_id, subscriptions) VALUES ($1, $2, $3, $4::jsonb)
       ON CONFLICT (client_id) DO UPDATE SET subscriptions = EXCLUDED.subscriptions, device_id = EXCLUDED.device_id,
         module_id = EXCLUDED.module_id, updated_at = now()`,
      [clientId, owner.deviceId, owner.moduleId ?? '', JSON.stringify(subscriptions)],
    );
  }

  async remove(clientId: string): Promise<void> {
    await this.removals.get(clientId);
  }
}
