/**
 * One live connection per identity, the newer wins (iothub-wire.md §2.8, IoT Hub error 400027): within a node the
 * registry kicks the older connection directly; across nodes every node announces its connects on
 * `iot.device.connections` and every node reads that topic (its own consumer group), closing a local connection
 * when another node reports a newer one for the same identity. The same events feed analytics (device_events) and
 * connectionState in the registry (through the ActivityRecorder).
 */
import { TOPICS } from '../../core/log/topics.ts';
import type { Consumer, Log, RecordBatch } from '../../core/log/types.ts';
import type { Logger } from '../../core/logging/logger.ts';
import type { AvroSerde } from '../../core/serde/avro-serde.ts';
import type { DeviceConnectionEvent } from '../../core/serde/records.ts';
import type { ActivityRecorder } from './activity-recorder.ts';
import { identityKey, type ConnectionHandle, type DeviceIdentity } from './types.ts';

export interface ConnectionRegistryOptions {
  nodeId: string;
  log: Log;
  serde: AvroSerde;
  topic: string;
  recorder: ActivityRecorder;
  logger: Logger;
  /** Told when an identity's connection became live (the gateway then drops its cached credentials). */
  onRegistered?: (identity: DeviceIdentity) => void;
}

/** What an adapter passes when a connection ends. `replaced`: a newer connection took over (no Disconnected state). */
export interface DisconnectInfo {
  reason: string;
  replaced?: boolean;
}

export class ConnectionRegistry {
  private readonly live = new Map<string, ConnectionHandle>();
  private consumer: Consumer | undefined;

  constructor(private readonly o: ConnectionRegistryOptions) {}

  /** Starts reading other nodes' connection events (from now on: older events cannot be newer than a live connection). */
  async start(): Promise<void> {
    this.consumer = this.o.log.consumer({ groupId: `ingest-connections-${this.o.nodeId}`, topics: [this.o.topic], fromBeginning: false });
    await this.consumer.start((batch) => this.onBatch(batch));
  }

  get size(): number {
    return this.live.size;
  }

  get(id: { deviceId: string; moduleId?: string | null }): ConnectionHandle | undefined {
    return this.live.get(identityKey(id));
  }

  /** Makes `handle` the identity's live connection, closing an older one on this node. */
  register(handle: ConnectionHandle): void {
    const key = identityKey(handle.identity);
    const previous = this.live.get(key);
    this.live.set(key, handle);
    if (previous !== undefined && previous !== handle) {
      this.o.logger.info({ device: key, old: previous.connectionId, new: handle.connectionId, errorCode: 400027 }, 'a newer connection replaced this one');
      previous.close('ConnectionForcefullyClosedOnNewConnection: a newer connection with the same id replaced this one (400027)', { replaced: true });
    }
    this.o.recorder.connectionState(handle.identity, true, new Date(handle.connectedAt));
    this.emit(handle, 'deviceConnected', undefined, handle.connectedAt);
    this.o.onRegistered?.(handle.identity);
  }

  /** Forgets `handle` if it is still the identity's live connection; announces the disconnect either way. */
  unregister(handle: ConnectionHandle, info: DisconnectInfo): void {
    const key = identityKey(handle.identity);
    const current = this.live.get(key) === handle;
    if (current) this.live.delete(key);
    // A replaced connection's identity is still connected (elsewhere); writing Disconnected could land after the new
    // connection's Connected and leave the registry wrong.
    if (current && !info.replaced) this.o.recorder.connectionState(handle.identity, false);
    this.emit(handle, 'deviceDisconnected', info.reason, Date.now());
  }

  /** Closes the live connections of a device (and of its modules unless `moduleId` is given). */
  closeIdentity(deviceId: string, moduleId: string | undefined, reason: string): number {
    const targets = [...this.live.values()].filter((h) => h.identity.deviceId === deviceId && (moduleId === undefined || h.identity.moduleId === moduleId));
    for (const h of targets) h.close(reason);
    return targets.length;
  }

  all(): ConnectionHandle[] {
    return [...this.live.values()];
  }

  private emit(handle: ConnectionHandle, eventType: DeviceConnectionEvent['eventType'], reason: string | undefined, at: number): void {
    const event: DeviceConnectionEvent = {
      eventType,
      deviceId: handle.identity.deviceId,
      moduleId: handle.identity.moduleId ?? null,
      connectionId: handle.connectionId,
      ingestNode: this.o.nodeId,
      protocol: handle.protocol,
      remoteAddress: handle.remoteAddress ?? null,
      authMethod: handle.identity.authMethodJson,
      modelId: handle.modelId ?? null,
      reason: reason ?? null,
      eventTime: at,
    };
    this.o.serde.encode(TOPICS.deviceConnections, event)
      .then((value) => this.o.log.produce(this.o.topic, [{ key: handle.identity.deviceId, value, timestamp: at }]))
      .catch((err: unknown) => this.o.logger.warn({ err, device: identityKey(handle.identity), eventType }, 'connection event not written'));
  }

  private async onBatch(batch: RecordBatch): Promise<void> {
    for (const record of batch.records) {
      if (record.value === null) continue;
      let event: DeviceConnectionEvent;
      try {
        event = await this.o.serde.decode<DeviceConnectionEvent>(record.value, TOPICS.deviceConnections);
      } catch (err) {
        this.o.logger.warn({ err, offset: record.offset, partition: record.partition }, 'unreadable connection event skipped');
        continue;
      }
      if (event.eventType !== 'deviceConnected' || event.ingestNode === this.o.nodeId) continue;
      const local = this.live.get(identityKey({ deviceId: event.deviceId, moduleId: event.moduleId }));
      // Ties go to the larger connection id, so two nodes never both keep (or both drop) their connection.
      if (local !== undefined && (local.connectedAt < event.eventTime || (local.connectedAt === event.eventTime && local.connectionId < event.connectionId))) {
        this.o.logger.info({ device: identityKey(local.identity), node: event.ingestNode, errorCode: 400027 }, 'the device connected to another node; closing this connection');
        local.close(`ConnectionForcefullyClosedOnNewConnection: the device connected again through ${event.ingestNode} (400027)`, { replaced: true });
      }
    }
    await this.consumer?.commit([{ topic: batch.topic, partition: batch.partition, offset: batch.nextOffset }]);
  }

  async close(): Promise<void> {
    await this.consumer?.stop();
  }
}
