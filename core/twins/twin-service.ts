/**
 * The service side of twins (REST `GET/PATCH/PUT /twins/{id}[/modules/{mid}]`, iothub-wire.md §5.2). Writes go
 * straight to the store, not through `iot.twin.updates`: a REST caller needs the resulting twin and a 412 at once.
 * Once the write committed, its TwinChange and desired notification are produced (the same records the twins
 * processor emits), so devices, routing and enrich see service changes like any other.
 *
 * A failure to produce after the commit is reported to the caller (retriable ServiceUnavailable/LogUnavailable):
 * the twin is changed but the device was not told; retrying the same patch (If-Match: *) sends the notification.
 */
import { validateDeviceId, validateModuleId } from '../registry/ids.ts';
import type { Log } from '../log/types.ts';
import { componentLogger, type Logger } from '../logging/logger.ts';
import type { AvroSerde } from '../serde/avro-serde.ts';
import type { Store } from '../store/types.ts';
import type { TwinDocument } from './document.ts';
import { DEFAULT_TWIN_TOPICS, publishTwinChange, type TwinTopics } from './events.ts';
import { parseReplacement, parseServicePatch } from './input.ts';
import { TwinStore, type TwinTarget } from './twin-store.ts';

export interface TwinServiceOptions {
  store: Store;
  /** With `serde`: where changes and desired notifications go. Without them nothing is produced (tests, tools). */
  log?: Log;
  serde?: AvroSerde;
  /** Defaults to the hub's `iot.twin.changes` and `iot.cloud.commands`. */
  topics?: TwinTopics;
  logger?: Logger;
}

export class TwinService {
  readonly twins: TwinStore;
  private readonly logger: Logger;

  constructor(private readonly o: TwinServiceOptions) {
    this.twins = new TwinStore(o.store);
    this.logger = o.logger ?? componentLogger('twins-service');
  }

  async get(target: TwinTarget): Promise<TwinDocument> {
    return this.twins.get(validTarget(target));
  }

  /** PATCH: merges tags and desired properties. */
  async update(target: TwinTarget, body: unknown, ifMatch: string | undefined, requestId?: string): Promise<TwinDocument> {
    const changes = parseServicePatch(body);
    const result = await this.twins.update(validTarget(target), changes, { ifMatch, origin: 'Service', requestId });
    if (result.change) await this.publish(result.change);
    return result.document;
  }

  /** PUT: replaces tags and desired properties. */
  async replace(target: TwinTarget, body: unknown, ifMatch: string | undefined, requestId?: string): Promise<TwinDocument> {
    const replacement = parseReplacement(body);
    const result = await this.twins.replace(validTarget(target), replacement, { ifMatch, origin: 'Service', requestId });
    if (result.change) await this.publish(result.change);
    return result.document;
  }

  private async publish(change: Parameters<typeof publishTwinChange>[2]): Promise<void> {
    if (!this.o.log || !this.o.serde) return;
    try {
      await publishTwinChange(this.o.log, this.o.serde, change, this.o.topics ?? DEFAULT_TWIN_TOPICS);
    } catch (err) {
      this.logger.error({ err, deviceId: change.deviceId, moduleId: change.moduleId, version: change.version }, 'twin changed but its change event was not produced');
      throw err;
    }
  }
}

function validTarget(target: TwinTarget): TwinTarget {
  validateDeviceId(target.deviceId);
  if (target.moduleId !== undefined && target.moduleId !== null && target.moduleId !== '') validateModuleId(target.moduleId);
  return target;
}
