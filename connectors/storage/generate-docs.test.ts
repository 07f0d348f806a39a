import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { STORAGE_DOC_PATH, renderStorageDoc } from './generate-docs.ts';
import { StorageConfigSchema } from './config.ts';

test('docs/connectors/storage.md lists the current settings (run: node --import tsx connectors/storage/generate-docs.ts)', () => {
  const committed = readFileSync(STORAGE_DOC_PATH, 'utf8');
  assert.equal(committed, renderStorageDoc(committed), 'the settings table is stale; regenerate it');
  for (const key of Object.keys(StorageConfigSchema.properties)) {
    if (key !== 's3') assert.ok(committed.includes(`| \`${key}\` |`), `${key} is missing`);
  }
  assert.ok(committed.includes('| `s3.bucket` |'));
});
