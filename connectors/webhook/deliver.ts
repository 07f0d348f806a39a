/**
 * Delivery with Event Grid's retry rules (learn.microsoft.com/azure/event-grid/delivery-and-retry): 2xx delivers;
 * 408, 429, 5xx, network errors and timeouts are retried with exponential backoff (honouring a Retry-After the
 * endpoint sends, up to the configured cap) until `maxAttempts`; any other 4xx — and a redirect, which Event Grid does
 * not follow either — fails at once. The caller dead-letters whatever fails.
 *
 * Retries go in rounds over every request of a batch still open, not request by request: a dead endpoint then costs
 * one batch `maxAttempts` rounds (≈ the sum of the backoffs), not that per event. The price is Event Grid's: an event
 * that needed a retry can arrive after a later event of the same device.
 */
import { TributaryError } from '../../core/errors/index.ts';
import { counter } from '../../core/metrics/registry.ts';
import { sleep } from '../../core/runtime/backoff.ts';
import type { WebhookConfig } from './config.ts';

const requestsTotal = counter('tributary_webhook_requests_total', 'Webhook POSTs by outcome (2xx, 3xx, 4xx, 5xx, timeout, network).', ['outcome']);

/** One POST: a body and the records it carries. `lane` serialises requests (the device id: one device in order). */
export interface DeliveryRequest {
  indexes: number[];
  body: string;
  contentType: string;
  what: string;
  lane: string;
}

export interface DeliveryFailure {
  indexes: number[];
  error: TributaryError;
}

/** Thrown when the connector is closing: the batch is neither delivered nor dead-lettered, so it is not committed. */
export class DeliveryAborted extends Error {}

type Outcome = { kind: 'delivered' } | { kind: 'retry'; retryAfterMs?: number; message: string } | { kind: 'reject'; message: string };

export async function deliverAll(config: WebhookConfig, requests: DeliveryRequest[], closing: AbortSignal): Promise<DeliveryFailure[]> {
  const headers: Record<string, string> = { ...config.headers };
  if (config.authorization) headers.authorization = config.authorization;
  const failures: DeliveryFailure[] = [];
  let open = requests;
  let retryAfterMs = 0;
  for (let attempt = 1; open.length > 0; attempt++) {
    if (attempt > 1) {
      const backoff = Math.min(config.maxRetryDelayMs, config.retryDelayMs * 2 ** (attempt - 2));
      await sleep(Math.min(config.maxRetryDelayMs, Math.max(backoff / 2 + Math.random() * (backoff / 2), retryAfterMs)), closing);
    }
    if (closing.aborted) throw new DeliveryAborted('connector closing before the batch was delivered');
    const outcomes = await inLanes(open, config.concurrency, (r) => post(config, { ...headers, 'content-type': r.contentType }, r.body, closing));
    const again: DeliveryRequest[] = [];
    retryAfterMs = 0;
    for (const [i, request] of open.entries()) {
      const outcome = outcomes[i]!;
      if (outcome.kind === 'delivered') continue;
      if (outcome.kind === 'reject') {
        failures.push({ indexes: request.indexes, error: new TributaryError('SinkRecordRejected', `${redacted(config.url)} refused ${request.what}: ${outcome.message}; fix the endpoint or its configuration, then replay from the dead-letter topic`) });
      } else if (attempt >= config.maxAttempts) {
        failures.push({ indexes: request.indexes, error: new TributaryError('SinkWriteFailed', `${redacted(config.url)} did not accept ${request.what} in ${config.maxAttempts} attempts (last: ${outcome.message}); replay it from the dead-letter topic once the endpoint is back`, { retriable: false }) });
      } else {
        again.push(request);
        retryAfterMs = Math.max(retryAfterMs, outcome.retryAfterMs ?? 0);
      }
    }
    open = again;
  }
  return failures;
}

/** Runs `fn` over the requests, lanes in parallel (at most `concurrency`), requests of one lane one after the other. */
async function inLanes<T>(requests: DeliveryRequest[], concurrency: number, fn: (r: DeliveryRequest) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(requests.length);
  const lanes = new Map<string, number[]>();
  for (const [i, r] of requests.entries()) lanes.set(r.lane, [...(lanes.get(r.lane) ?? []), i]);
  const queue = [...lanes.values()];
  const worker = async () => {
    for (let lane = queue.shift(); lane; lane = queue.shift()) for (const i of lane) results[i] = await fn(requests[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  return results;
}

async function post(config: WebhookConfig, headers: Record<string, string>, body: string, closing: AbortSignal): Promise<Outcome> {
  let response: Response;
  try {
    response = await fetch(config.url, {
      method: 'POST', headers, body, redirect: 'manual',
      signal: AbortSignal.any([closing, AbortSignal.timeout(config.timeoutMs)]),
    });
  } catch (err) {
    if (closing.aborted) throw new DeliveryAborted('connector closing during a request');
    const timedOut = err instanceof Error && err.name === 'TimeoutError';
    requestsTotal.inc({ outcome: timedOut ? 'timeout' : 'network' });
    return { kind: 'retry', message: timedOut ? `no answer within ${config.timeoutMs} ms` : networkText(err) };
  }
  // Read the answer in full (a little kept for the message) so the connection goes back to the pool.
  const text = await response.text().catch(() => '');
  const status = response.status;
  requestsTotal.inc({ outcome: `${Math.floor(status / 100)}xx` });
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  const message = `HTTP ${status}${text ? ` ${JSON.stringify(text.slice(0, 200))}` : ''}`;
  if (status >= 300 && status < 400) return { kind: 'reject', message: `${message}, a redirect to ${response.headers.get('location') ?? '(no location)'}; configure the final URL` };
  if (status === 408 || status === 429 || status >= 500) return { kind: 'retry', retryAfterMs: retryAfter(response.headers.get('retry-after')), message };
  return { kind: 'reject', message };
}

/** Retry-After is delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** fetch reports every network failure as "fetch failed"; the reason (ECONNREFUSED, a certificate error) is the cause. */
function networkText(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.message ?? cause?.code ?? (err instanceof Error ? err.message : String(err));
}

/** The URL for messages: no password, no query string (either may hold a key). */
function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  if (parsed.search) parsed.search = '?…';
  return parsed.toString();
}
