import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connectorType } from './index.ts';
import { generatedPages, renderConnectorDoc } from './generate-docs.ts';

test('connector pages list their current settings (run: node --import tsx connectors/generate-docs.ts)', () => {
  const pages = generatedPages();
  assert.ok(pages.some((p) => p.type === 'kafka'), 'docs/connectors/kafka.md is generated here');
  for (const { type, path } of pages) {
    const committed = readFileSync(path, 'utf8');
    assert.equal(committed, renderConnectorDoc(type, committed), `${path}: the settings table is stale; regenerate it`);
    const schema = connectorType(type)!.definition.configSchema as unknown as { properties: Record<string, unknown> };
    for (const key of Object.keys(schema.properties)) assert.ok(committed.includes(`| \`${key}\` |`), `${type}: ${key} is missing`);
  }
});
