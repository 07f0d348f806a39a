import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CONFIG_DOC_PATH, renderConfigurationDoc } from './generate-docs.ts';
import { SETTINGS } from './settings.ts';

test('docs/configuration.md is generated from the current schema (run: node --import tsx core/config/generate-docs.ts)', () => {
  const committed = readFileSync(CONFIG_DOC_PATH, 'utf8');
  assert.equal(committed, renderConfigurationDoc(), 'docs/configuration.md is stale; regenerate it with core/config/generate-docs.ts');
});

test('the reference documents every setting under its path and env var', () => {
  const doc = renderConfigurationDoc();
  for (const s of SETTINGS) {
    assert.ok(doc.includes(`| \`${s.path}\` | \`${s.env}\` |`), `${s.path} is missing from the reference`);
  }
});
