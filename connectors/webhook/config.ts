import { Type, type Static } from '@sinclair/typebox';

export const WebhookConfigSchema = Type.Object(
  {
    url: Type.String({
      pattern: '^https?://[^\\s/]+',
      description: 'Endpoint the events are POSTed to. Use https: (Event Grid only delivers to HTTPS webhooks); the server ' +
        'certificate is checked against the system CAs plus NODE_EXTRA_CA_CERTS.',
    }),
    hubName: Type.String({
      minLength: 1,
      default: 'tributary',
      description: 'Hub name in the events (`source` `/hubs/<hubName>/devices/<id>`, `data.hubName`); the hub passes its `hubName`.',
    }),
    batched: Type.Boolean({
      default: false,
      description: 'false: one event per request, `application/cloudevents+json` (structured mode). true: up to ' +
        '`maxEventsPerRequest` events per request as a JSON array, `application/cloudevents-batch+json`.',
    }),
    maxEventsPerRequest: Type.Integer({ minimum: 1, maximum: 5000, default: 100, description: 'Events per request when `batched`.' }),
    authorization: Type.Optional(Type.String({
      minLength: 1,
      description: 'Value of the Authorization header sent with every request, e.g. `Bearer <token>` or `Basic <base64>`.',
    })),
    headers: Type.Record(Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$' }), Type.String(), {
      default: {},
      description: 'Extra request headers, e.g. `{"aeg-sas-key": "…"}` for an Event Grid topic or `{"x-api-key": "…"}`.',
    }),
    timeoutMs: Type.Integer({ minimum: 100, default: 30_000, description: 'Per-request timeout; Event Grid also waits 30 s for an answer.' }),
    maxAttempts: Type.Integer({
      minimum: 1,
      default: 5,
      description: 'Attempts per request for 408, 429, 5xx, network errors and timeouts, after which the events are ' +
        'dead-lettered (code SinkWriteFailed). Other 4xx answers and redirects dead-letter at once (code SinkRecordRejected).',
    }),
    retryDelayMs: Type.Integer({ minimum: 0, default: 1000, description: 'Delay before the second attempt; it doubles (with jitter) per attempt.' }),
    maxRetryDelayMs: Type.Integer({ minimum: 0, default: 60_000, description: 'Longest delay between attempts, also the cap on a Retry-After the endpoint asks for.' }),
    concurrency: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 4,
      description: 'Devices delivered in parallel (structured mode). Events of one device are sent one after the other, in order; one that needs a retry can arrive after later ones.',
    }),
  },
  { additionalProperties: false },
);

export type WebhookConfig = Static<typeof WebhookConfigSchema>;
