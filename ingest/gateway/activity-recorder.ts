/**
 * connectionState and lastActivityTime without a store write per message (issue 5 §6): the gateway notes changes in
 * memory (last value per identity wins) and writes them to the registry in one batch every `flushMs`. A failed flush
 * keeps its updates for the next one (newer notes for the same identity replace them).
 */
import type { Logger } from '../../core/logging/logger.ts';
import type { ActivityUpdate, ConnectionStateUpdate } from '../../core/registry/index.ts';
import { identityKey } from './types.ts';

export interface ActivitySink {
  recordConnectionStates(updates: ConnectionStateUpdate[]): Promise<void>;
  recordActivity(updates: ActivityUpdate[]): Promise<void>;
}

/** A pending last-activity time; the Date the registry takes is made at flush, not per message. */
interface PendingActivity {
  deviceId: string;
  moduleId: string | undefined;
  atMs: number;
}

export class ActivityRecorder {
  private states = new Map<string, ConnectionStateUpdate>();
  private activity = new Map<string, PendingActivity>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;

  constructor(private readonly sink: ActivitySink, flushMs: number, private readonly logger: Logger) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  connectionState(id: { deviceId: string; moduleId?: string }, connected: boolean, at: Date = new Date()): void {
    const update: ConnectionStateUpdate = { deviceId: id.deviceId, connected, at };
    if (id.moduleId) update.moduleId = id.moduleId;
    this.states.set(identityKey(id), update);
  }

  /**
   * Called on every message: a map lookup, and an allocation only for the first message of an identity per flush
   * (later ones update the pending entry in place; a Date and an object per message were visible in the ingest bench).
   */
  activityAt(id: { deviceId: string; moduleId?: string }, at: number): void {
    const key = identityKey(id);
    const pending = this.activity.get(key);
    if (pending === undefined) this.activity.set(key, { deviceId: id.deviceId, moduleId: id.moduleId || undefined, atMs: at });
    else if (pending.atMs < at) pending.atMs = at;
  }

  /** Writes what is pending; concurrent calls share one flush. */
  flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => { this.flushing = undefined; });
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    const states = this.states;
    const activity = this.activity;
    if (states.size === 0 && activity.size === 0) return;
    this.states = new Map();
    this.activity = new Map();
    try {
      await this.sink.recordConnectionStates([...states.values()]);
    } catch (err) {
      this.logger.warn({ err, updates: states.size }, 'connection states not recorded; retrying with the next flush');
      for (const [k, v] of states) if (!this.states.has(k)) this.states.set(k, v);
    }
    try {
      await this.sink.recordActivity(Array.from(activity.values(), toUpdate));
    } catch (err) {
      this.logger.warn({ err, updates: activity.size }, 'activity times not recorded; retrying with the next flush');
      for (const [k, v] of activity) if (!this.activity.has(k)) this.activity.set(k, v);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

function toUpdate(p: PendingActivity): ActivityUpdate {
  const update: ActivityUpdate = { deviceId: p.deviceId, at: new Date(p.atMs) };
  if (p.moduleId) update.moduleId = p.moduleId;
  return update;
}
