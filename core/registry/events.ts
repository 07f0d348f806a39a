/**
 * What the registry tells others after a change has committed: in-process listeners (ingest's credential cache) and
 * DeviceLifecycleEvents on `iot.device.lifecycle` (other nodes' caches, the enrich processor, analytics), keyed by
 * device id so one device's events stay in order.
 *
 * Events are produced after COMMIT, never inside the transaction: a rolled-back change must not be announced, and
 * the store must not wait on Kafka. A failed produce does not fail the registry operation (the change is durable and
 * a retry of the request would hit DeviceAlreadyExists); it is retried a few times, then logged at error level with
 * the event so nothing is lost without a trace.
 */
import type { Logger } from '../logging/logger.ts';
import type { Log, ProduceRecord } from '../log/types.ts';
import { TOPICS } from '../log/topics.ts';
import type { AvroSerde } from '../serde/avro-serde.ts';
import type { DeviceLifecycleEvent } from '../serde/records.ts';
import { identityWithoutSecrets } from './json-mapping.ts';
import type { DeviceJson, ModuleJson, RegistryChange } from './types.ts';

export type LifecycleOp = Exclude<DeviceLifecycleEvent['opType'], 'unknown'>;

/** Builds the event for an identity after (or, for deletes, before) the operation. */
export function lifecycleEvent(opType: LifecycleOp, identity: DeviceJson | ModuleJson, at: Date): DeviceLifecycleEvent {
  const isDelete = opType === 'deleteDeviceIdentity' || opType === 'deleteModuleIdentity';
  const device = 'status' in identity ? identity : undefined;
  return {
    opType,
    deviceId: identity.deviceId,
    moduleId: 'moduleId' in identity ? identity.moduleId : null,
    generationId: identity.generationId,
    etag: isDelete ? null : identity.etag,
    status: isDelete ? null : (device?.status ?? null),
    statusReason: isDelete ? null : (device?.statusReason ?? null),
    authenticationType: identity.authentication.type,
    identity: isDelete ? null : identityWithoutSecrets(identity),
    operationTime: at.getTime(),
  };
}

const PRODUCE_ATTEMPTS = 3;

export class RegistryEvents {
  private readonly listeners = new Set<(change: RegistryChange) => void>();

  constructor(
    private readonly logger: Logger,
    private readonly hubName: string,
    private readonly log?: Log,
    private readonly serde?: AvroSerde,
  ) {}

  onChange(listener: (change: RegistryChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Calls every listener; one that throws is logged and does not keep the others (or the caller) from running. */
  notify(changes: readonly RegistryChange[]): void {
    for (const change of changes) {
      for (const listener of this.listeners) {
        try {
          listener(change);
        } catch (err) {
          this.logger.error({ err, deviceId: change.deviceId, moduleId: change.moduleId, kind: change.kind }, 'registry change listener threw');
        }
      }
    }
  }

  /** Encodes and produces the events in one produce call; a no-op without log and serde. */
  async publish(events: readonly DeviceLifecycleEvent[]): Promise<void> {
    if (this.log === undefined || this.serde === undefined || events.length === 0) return;
    let lastError: unknown;
    for (let attempt = 1; attempt <= PRODUCE_ATTEMPTS; attempt++) {
      try {
        const records: ProduceRecord[] = [];
        for (const event of events) {
          records.push({
            key: event.deviceId,
            value: await this.serde.encode(TOPICS.deviceLifecycle, event),
            // IoT Hub's lifecycle notification application properties, so routes and consumers can filter on them.
            headers: {
              'iothub-message-source': 'deviceLifecycleEvents',
              hubName: this.hubName,
              opType: event.opType,
              deviceId: event.deviceId,
              ...(event.moduleId ? { moduleId: event.moduleId } : {}),
              operationTimestamp: new Date(event.operationTime).toISOString(),
            },
          });
        }
        await this.log.produce(TOPICS.deviceLifecycle, records);
        return;
      } catch (err) {
        lastError = err;
        const retriable = typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
        if (!retriable || attempt === PRODUCE_ATTEMPTS) break;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
    this.logger.error(
      { err: lastError, topic: TOPICS.deviceLifecycle, events: events.map((e) => ({ ...e, identity: undefined })) },
      'registry change committed but its lifecycle events could not be produced; caches on other nodes may be stale until the next change',
    );
  }
}
