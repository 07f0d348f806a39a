/**
 * webhook — IoT Hub's Event Grid role: routed messages and device events POSTed to an HTTPS endpoint as CloudEvents
 * 1.0 (JSON event format, HTTP binding structured mode, or the batched mode as an option). Retries happen here, per
 * request, as Event Grid does; what still fails is dead-lettered by the runtime (SinkError, non-retriable, naming the
 * records), so a dead endpoint costs `maxAttempts` tries per event and never stalls the partition for good.
 *
 * Order: events of one device are POSTed one after the other in offset order, devices in parallel (`concurrency`);
 * an event that needs a retry may arrive after later ones (deliver.ts). Delivery is at-least-once: a batch redelivered
 * after a crash is POSTed again with the same CloudEvents `source` + `id`, which receivers use to drop duplicates.
 */
import { toTributaryError, type TributaryError } from '../../core/errors/index.ts';
import type { Logger } from '../../core/logging/logger.ts';
import type { AvroSerde } from '../../core/serde/index.ts';
import { SinkError, defineConnector, type SinkBatch, type SinkConnector } from '../runtime/define-connector.ts';
import { decodeRouted } from '../runtime/routed-message.ts';
import { toCloudEvent, type CloudEvent } from './cloud-event.ts';
import { WebhookConfigSchema, type WebhookConfig } from './config.ts';
import { DeliveryAborted, deliverAll, type DeliveryRequest } from './deliver.ts';

const STRUCTURED = 'application/cloudevents+json; charset=utf-8';
const BATCHED = 'application/cloudevents-batch+json; charset=utf-8';

interface Failure {
  index: number;
  error: TributaryError;
}

interface Pending {
  index: number;
  deviceId: string;
  event: CloudEvent;
}

export const webhookConnector = defineConnector({
  name: 'webhook',
  description: 'POSTs routed messages and device events as CloudEvents 1.0 to an HTTPS endpoint, with retries and dead letters (the Event Grid role).',
  configSchema: WebhookConfigSchema,
  // Webhooks are latency-bound and every event is a request: small batches, sent soon.
  batching: (config) => ({ maxBatchRecords: config.batched ? config.maxEventsPerRequest * 4 : 200, maxBatchWaitMs: 50 }),
  create: (config, deps) => new WebhookSink(config, deps),
});

class WebhookSink implements SinkConnector {
  private readonly closing = new AbortController();

  constructor(
    private readonly config: WebhookConfig,
    private readonly deps: { logger: Logger; serde: AvroSerde },
  ) {}

  async connect(): Promise<void> {
    // Nothing to open: fetch pools connections per origin. The endpoint is not probed (a POST would be an event).
  }

  async close(): Promise<void> {
    this.closing.abort();
  }

  async writeBatch(batch: SinkBatch): Promise<void> {
    const failures: Failure[] = [];
    const pending: Pending[] = [];
    for (const [index, record] of batch.records.entries()) {
      try {
        const message = await decodeRouted(this.deps.serde, record);
        pending.push({ index, deviceId: message.deviceId, event: toCloudEvent(message, this.config.hubName) });
      } catch (err) {
        const error = toTributaryError(err, 'SerializationFailed');
        if (error.retriable) throw new SinkError(`cannot decode ${batch.topic}/${batch.partition}@${record.offset}: ${error.message}`, { retriable: true, cause: err });
        failures.push({ index, error });
      }
    }

    const requests = this.config.batched ? this.batchedRequests(pending) : this.structuredRequests(pending);
    try {
      for (const failure of await deliverAll(this.config, requests, this.closing.signal)) {
        for (const index of failure.indexes) failures.push({ index, error: failure.error });
      }
    } catch (err) {
      if (err instanceof DeliveryAborted) throw new SinkError(`${err.message}; the batch is retried by the next owner of the partition`, { retriable: true, cause: err });
      throw err;
    }

    if (failures.length > 0) {
      failures.sort((a, b) => a.index - b.index);
      const first = failures[0]!.error;
      this.deps.logger.warn({ failed: failures.length, of: batch.records.length, code: first.code, err: first }, 'webhook events not delivered; dead-lettering them');
      throw new SinkError(`${failures.length} of ${batch.records.length} events not delivered: ${first.message}`, {
        retriable: false, failed: failures.map((f) => f.index), code: first.code, cause: first,
      });
    }
  }

  /** One event per request (structured mode); one lane per device keeps each device's events in order. */
  private structuredRequests(pending: Pending[]): DeliveryRequest[] {
    return pending.map((p) => ({ indexes: [p.index], body: JSON.stringify(p.event), contentType: STRUCTURED, what: `event ${p.event.id} (${p.event.type})`, lane: p.deviceId }));
  }

  /** Up to `maxEventsPerRequest` events per request, in offset order, one request after the other (one lane). */
  private batchedRequests(pending: Pending[]): DeliveryRequest[] {
    const requests: DeliveryRequest[] = [];
    for (let start = 0; start < pending.length; start += this.config.maxEventsPerRequest) {
      const chunk = pending.slice(start, start + this.config.maxEventsPerRequest);
      requests.push({
        indexes: chunk.map((p) => p.index), body: JSON.stringify(chunk.map((p) => p.event)), contentType: BATCHED,
        what: `a batch of ${chunk.length} events (first ${chunk[0]!.event.id})`, lane: '',
      });
    }
    return requests;
  }
}
