/**
 * The device→ClickHouse hook against the real ClickHouse (18.16 here): a stand-in `messages` table shaped like the
 * connector's (message id, JSON body text, an insert time), filled with rows whose latency is known by construction.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { services, uniqueName } from '../../test/support/services.ts';
import { measureClickHouse } from './clickhouse.ts';

const database = uniqueName('bench_ch').replaceAll('-', '_');

async function sql(text: string): Promise<void> {
  const res = await fetch(new URL('/', services.clickhouseUrl), { method: 'POST', body: text });
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
}

before(async () => {
  await sql(`CREATE DATABASE ${database}`);
  await sql(`CREATE TABLE ${database}.messages (message_id String, body String, inserted_at DateTime) ENGINE = Memory`);
  // Run abcd: 100 messages sent at T+i ms, all inserted at T+1 s, so latency i = 1000 − i ms (901 … 1000).
  await sql(`INSERT INTO ${database}.messages SELECT concat('abcd.dev.', toString(number)), concat('{"deviceId":"dev","ts":', toString(1700000000000 + number), ',"temp":1}'), toDateTime(1700000001) FROM system.numbers LIMIT 100`);
  // Another run's rows and a redelivered row of this run must not change the count of distinct messages.
  await sql(`INSERT INTO ${database}.messages SELECT concat('ffff.dev.', toString(number)), '{"ts":0}', toDateTime(1700000001) FROM system.numbers LIMIT 5`);
  await sql(`INSERT INTO ${database}.messages VALUES ('abcd.dev.0', '{"ts":1700000000000}', toDateTime(1700000001))`);
});

after(async () => {
  await sql(`DROP DATABASE IF EXISTS ${database}`);
  await sql(`DROP DATABASE IF EXISTS ${database}_conn`);
});

test('the connector\'s own column shapes: body_text Nullable(String), inserted_at epoch ms (connectors/clickhouse/tables.ts)', async () => {
  await sql(`CREATE DATABASE ${database}_conn`);
  await sql(`CREATE TABLE ${database}_conn.messages (device_id String, message_id String, body_text Nullable(String), body_hex String, inserted_at UInt64) ENGINE = Memory`);
  // Sent at T + 10·i ms, inserted at T + 500 ms: latency 500 − 10·i for i = 0 … 9 (410 … 500 ms).
  await sql(`INSERT INTO ${database}_conn.messages SELECT 'dev', concat('beef.dev.', toString(number)), concat('{"ts":', toString(1700000000000 + 10 * number), '}'), '', 1700000000500 FROM system.numbers LIMIT 10`);
  const f = await measureClickHouse({ url: services.clickhouseUrl, database: `${database}_conn`, runId: 'beef', expected: 10, waitMs: 5000 });
  assert.equal(f.status, 'measured', f.note);
  assert.equal(f.rows, 10);
  assert.equal(f.latency!.summary.max, 500);
  assert.equal(f.latency!.table.find((p) => p.percentile === 50)!.ms, 460);
  assert.match(f.note, /inserted_at/);
  assert.doesNotMatch(f.note, /whole-second/);
});

test('counts the run\'s distinct rows and computes latency percentiles from body ts and insert time', async () => {
  const f = await measureClickHouse({ url: services.clickhouseUrl, database, runId: 'abcd', expected: 100, waitMs: 5000 });
  assert.equal(f.status, 'measured', f.note);
  assert.equal(f.rows, 100);
  const l = f.latency!;
  assert.equal(l.summary.count, 101, 'latency over rows, the redelivered one included');
  assert.equal(l.summary.max, 1000);
  const p50 = l.table.find((p) => p.percentile === 50)!.ms;
  assert.ok(p50 >= 949 && p50 <= 951, `p50 ${p50}`);
  assert.match(f.note, /whole-second resolution/);
});

test('a database without the table says the connector is not there', async () => {
  const f = await measureClickHouse({ url: services.clickhouseUrl, database: `${database}_none`, runId: 'abcd', expected: 1, waitMs: 0 });
  assert.equal(f.status, 'no-table');
  assert.match(f.note, /connector/);
});
