import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RabbitMqConfigSchema } from './config.ts';
import { RABBITMQ_DOC_PATH, renderRabbitMqDoc } from './generate-docs.ts';

test('docs/connectors/rabbitmq.md lists the current settings (run: node --import tsx connectors/rabbitmq/generate-docs.ts)', () => {
  const committed = readFileSync(RABBITMQ_DOC_PATH, 'utf8');
  assert.equal(committed, renderRabbitMqDoc(committed), 'the settings table is stale; regenerate it');
  for (const key of Object.keys(RabbitMqConfigSchema.properties)) assert.ok(committed.includes(`| \`${key}\` |`), `${key} is missing`);
});
