import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WebhookConfigSchema } from './config.ts';
import { WEBHOOK_DOC_PATH, renderWebhookDoc } from './generate-docs.ts';

test('docs/connectors/webhook.md lists the current settings (run: node --import tsx connectors/webhook/generate-docs.ts)', () => {
  const committed = readFileSync(WEBHOOK_DOC_PATH, 'utf8');
  assert.equal(committed, renderWebhookDoc(committed), 'the settings table is stale; regenerate it');
  for (const key of Object.keys(WebhookConfigSchema.properties)) assert.ok(committed.includes(`| \`${key}\` |`), `${key} is missing`);
});
