export { webhookConnector } from './webhook.ts';
export { WebhookConfigSchema, type WebhookConfig } from './config.ts';
export { EVENT_TYPES, toCloudEvent, type CloudEvent } from './cloud-event.ts';
