import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TABLES, TABLE_NAMES, createTableSql, detectLayout, insertColumns, layoutForVersion, quoteIdentifier } from './tables.ts';

describe('ClickHouse tables', () => {
  it('legacy DDL uses only what 18.16 has: DateTime, String, Nested', () => {
    for (const table of TABLE_NAMES) {
      const sql = createTableSql('iot', table, 'legacy');
      assert.match(sql, /DateTime\('UTC'\)/);
      assert.match(sql, /Nested\(keys String, values String\)/);
      for (const modern of ['DateTime64', 'LowCardinality', 'Map(']) assert.ok(!sql.includes(modern), `${table} legacy DDL uses ${modern}`);
      assert.match(sql, /^CREATE TABLE IF NOT EXISTS `iot`\.`\w+` \(/);
      assert.match(sql, /ENGINE = ReplacingMergeTree\(\)\nPARTITION BY toYYYYMM\(`\w+_time`\)\nORDER BY \(`device_id`, `\w+_time`, `module_id`, `dedupe_id`\)$/);
    }
  });

  it('modern DDL uses DateTime64(3), LowCardinality and Map', () => {
    const sql = createTableSql('analytics', 'messages', 'modern');
    assert.match(sql, /`enqueued_time` DateTime64\(3, 'UTC'\)/);
    assert.match(sql, /`protocol` LowCardinality\(String\)/);
    assert.match(sql, /`app_properties` Map\(String, String\)/);
    assert.match(sql, /`body_text` Nullable\(String\)/);
    assert.ok(!sql.includes('Nested'));
  });

  it('picks the layout from the server version', () => {
    assert.equal(layoutForVersion('18.16.1'), 'legacy');
    assert.equal(layoutForVersion('21.8.15.7'), 'legacy');
    assert.equal(layoutForVersion('22.1.3.7'), 'modern');
    assert.equal(layoutForVersion('24.8.4.13'), 'modern');
    assert.equal(layoutForVersion('garbage'), 'legacy');
  });

  it('refuses identifiers that would need escaping', () => {
    assert.equal(quoteIdentifier('iot_2'), '`iot_2`');
    for (const bad of ['iot; DROP TABLE x', 'a`b', '', '1abc', 'iot.messages', 'x'.repeat(64)]) {
      assert.throws(() => quoteIdentifier(bad), RangeError, bad);
      assert.throws(() => createTableSql(bad, 'messages', 'legacy'), RangeError);
    }
  });

  it('inserts Nested properties as two array columns on legacy, one Map column on modern', () => {
    const legacy = insertColumns('messages', 'legacy');
    const modern = insertColumns('messages', 'modern');
    assert.ok(legacy.includes('app_properties.keys') && legacy.includes('app_properties.values') && !legacy.includes('app_properties'));
    assert.ok(modern.includes('app_properties') && !modern.includes('app_properties.keys'));
    assert.equal(legacy.length, modern.length + 3);
  });

  it('detects an existing table\'s layout and names missing columns', () => {
    const legacyTypes = new Map(insertColumns('twin_changes', 'legacy').map((c) => [c, c.endsWith('_time') ? "DateTime('UTC')" : 'String']));
    assert.deepEqual(detectLayout('twin_changes', legacyTypes), { layout: 'legacy' });
    const modernTypes = new Map(insertColumns('twin_changes', 'modern').map((c) => [c, c.endsWith('_time') ? "DateTime64(3, 'UTC')" : 'String']));
    assert.deepEqual(detectLayout('twin_changes', modernTypes), { layout: 'modern' });
    legacyTypes.delete('version');
    assert.deepEqual(detectLayout('twin_changes', legacyTypes), { problem: 'lacks column(s) version of the legacy layout' });
    assert.deepEqual(detectLayout('twin_changes', new Map()), { problem: 'has no event_time column' });
  });

  it('docs/analytics.md documents every column of every table', () => {
    const doc = readFileSync(new URL('../../docs/analytics.md', import.meta.url), 'utf8');
    for (const table of TABLE_NAMES) {
      assert.ok(doc.includes(`\`${table}\``), `table ${table} undocumented`);
      for (const column of TABLES[table].columns) assert.ok(doc.includes(`\`${column.name}\``), `${table}.${column.name} undocumented`);
    }
  });
});
