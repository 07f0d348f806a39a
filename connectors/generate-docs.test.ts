import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { connectorType, registeredConnectorTypes } from './index.ts';
import { CONNECTOR_DOCS_DIR, generatedPages, renderConnectorDoc, renderSettingsTable, settingRows } from './generate-docs.ts';

/** ClickHouse is documented with its tables in docs/analytics.md (hand-written settings table), not under docs/connectors. */
const DOCUMENTED_ELSEWHERE: Record<string, string> = { clickhouse: join(CONNECTOR_DOCS_DIR, '..', 'analytics.md') };

test('every connector page lists its current settings (run: node --import tsx connectors/generate-docs.ts)', () => {
  const pages = new Map(generatedPages().map((p) => [p.type, p.path]));
  for (const type of registeredConnectorTypes()) {
    const keys = settingRows(connectorType(type)!.definition.configSchema).map((r) => r.path);
    const elsewhere = DOCUMENTED_ELSEWHERE[type];
    if (elsewhere) {
      const doc = readFileSync(elsewhere, 'utf8');
      for (const key of keys) assert.ok(doc.includes(`\`${key}\``), `${elsewhere}: ${type} setting ${key} is not documented`);
      continue;
    }
    const path = pages.get(type);
    assert.ok(path, `docs/connectors/${type}.md is missing or lacks the settings markers of connectors/generate-docs.ts`);
    const committed = readFileSync(path, 'utf8');
    assert.equal(committed, renderConnectorDoc(type, committed), `${path}: the settings table is stale; regenerate it`);
    for (const key of keys) assert.ok(committed.includes(`| \`${key}\` |`), `${type}: ${key} is missing`);
  }
});

test('nested sections become dotted rows; defaults, required and optional settings are told apart', () => {
  const table = renderSettingsTable(Type.Object({
    name: Type.String({ description: 'a | b' }),
    size: Type.Integer({ minimum: 1, maximum: 9, default: 3 }),
    mode: Type.Union([Type.Literal('x'), Type.Literal('y')], { default: 'x' }),
    remote: Type.Optional(Type.Object({ bucket: Type.String(), tags: Type.Array(Type.String()) })),
  }));
  assert.deepEqual(table.split('\n').slice(2), [
    '| `name` | string | *required* | a \\| b |',
    '| `size` | integer (1–9) | `3` |  |',
    '| `mode` | `"x"` \\| `"y"` | `"x"` |  |',
    '| `remote.bucket` | string | *required* |  |',
    '| `remote.tags` | list of string | *required* |  |',
  ]);
});
