/**
 * Registry changes made by other processes reach this ingest node through `iot.device.lifecycle` (the registry
 * publishes one event per identity change after its transaction committed): the credential cache forgets the
 * identity, and a disabled or deleted identity's connections are closed — the cross-process counterpart of
 * `DeviceRegistry.onChange`, which only fires in the process that made the change.
 */
import type { Consumer, Log, RecordBatch } from '../../core/log/types.ts';
import { TOPICS } from '../../core/log/topics.ts';
import type { Logger } from '../../core/logging/logger.ts';
import type { AvroSerde } from '../../core/serde/avro-serde.ts';
import type { DeviceLifecycleEvent } from '../../core/serde/records.ts';
import type { RegistryChange } from '../../core/registry/index.ts';

export interface LifecycleListenerOptions {
  nodeId: string;
  log: Log;
  serde: AvroSerde;
  topic: string;
  logger: Logger;
  onChange: (change: RegistryChange) => void;
}

/** Maps a lifecycle event to the change kind the gateway reacts to. */
export function changeOf(event: DeviceLifecycleEvent): RegistryChange {
  const base = { deviceId: event.deviceId, ...(event.moduleId ? { moduleId: event.moduleId } : {}) };
  if (event.opType === 'deleteDeviceIdentity' || event.opType === 'deleteModuleIdentity') return { ...base, kind: 'deleted' };
  if (event.status === 'disabled') return { ...base, kind: 'disabled' };
  return { ...base, kind: 'updated' };
}

export class LifecycleListener {
  private consumer: Consumer | undefined;

  constructor(private readonly o: LifecycleListenerOptions) {}

  /** Every node reads every event (its own group), from now on: older changes are already in what it will look up. */
  async start(): Promise<void> {
    this.consumer = this.o.log.consumer({ groupId: `ingest-lifecycle-${this.o.nodeId}`, topics: [this.o.topic], fromBeginning: false });
    await this.consumer.start((batch) => this.onBatch(batch));
  }

  private async onBatch(batch: RecordBatch): Promise<void> {
    for (const record of batch.records) {
      if (record.value === null) continue;
      try {
        this.o.onChange(changeOf(await this.o.serde.decode<DeviceLifecycleEvent>(record.value, TOPICS.deviceLifecycle)));
      } catch (err) {
        this.o.logger.warn({ err, offset: record.offset, partition: record.partition }, 'unreadable lifecycle event skipped');
      }
    }
    await this.consumer?.commit([{ topic: batch.topic, partition: batch.partition, offset: batch.nextOffset }]);
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
  }
}
