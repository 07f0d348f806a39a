// Smoke test of ClickHouse (Debian's 18.16 here) through @clickhouse/client over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@clickhouse/client';
import { services, uniqueName } from '../support/services.ts';

test('clickhouse: create a table, insert rows in one batch, select them back', async () => {
  const client = createClient({ url: services.clickhouseUrl });
  const table = uniqueName('smoke').replaceAll('-', '_');
  try {
    const version = await (await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json<{ v: string }>();
    assert.match(version[0]!.v, /^\d+\.\d+/);
    // 18.16 has no DateTime64; MergeTree with the old-style ORDER BY clause works on every version.
    await client.command({ query: `CREATE TABLE ${table} (device_id String, seq UInt32, ts DateTime) ENGINE = MergeTree() ORDER BY (device_id, seq)` });
    const rows = Array.from({ length: 100 }, (_, i) => ({ device_id: `d${i % 4}`, seq: i, ts: 1_700_000_000 + i }));
    await client.insert({ table, values: rows, format: 'JSONEachRow' });
    const result = await client.query({
      query: `SELECT device_id, count() AS n, max(seq) AS last FROM ${table} GROUP BY device_id ORDER BY device_id`,
      format: 'JSONEachRow',
    });
    const counts = await result.json<{ device_id: string; n: string | number; last: number }>();
    assert.deepEqual(counts.map((r) => [r.device_id, Number(r.n), Number(r.last)]), [
      ['d0', 25, 96], ['d1', 25, 97], ['d2', 25, 98], ['d3', 25, 99],
    ]);
  } finally {
    await client.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
    await client.close();
  }
});
