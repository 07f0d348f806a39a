import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureClickHouse, millisExpression, pickColumns } from './clickhouse.ts';

test('finds the id, body and insert-time columns whatever their case style', () => {
  assert.deepEqual(pickColumns([
    { name: 'device_id', type: 'String' }, { name: 'message_id', type: 'String' }, { name: 'enqueued_time', type: 'DateTime64(3)' },
    { name: 'body', type: 'String' }, { name: 'inserted_at', type: 'DateTime64(3)' },
  ]), { id: 'message_id', body: 'body', insertedAt: { name: 'inserted_at', type: 'DateTime64(3)' } });
  assert.deepEqual(pickColumns([{ name: 'messageId', type: 'String' }, { name: 'body_raw', type: 'String' }]), { id: 'messageId' });
  assert.equal(pickColumns([{ name: 'body', type: 'Array(UInt8)' }]).body, undefined, 'raw bytes are not the JSON text');
});

test('time columns become epoch milliseconds by type', () => {
  assert.equal(millisExpression({ name: 'a', type: 'DateTime64(3)' }), 'toUnixTimestamp64Milli(a)');
  assert.equal(millisExpression({ name: 'a', type: 'DateTime' }), 'toUInt64(a) * 1000');
  assert.equal(millisExpression({ name: 'a', type: 'UInt64' }), 'toUInt64(a)');
});

test('without a URL nothing is queried and the report says why', async () => {
  const f = await measureClickHouse({ url: undefined, database: 'iot', runId: 'ab', expected: 1 });
  assert.equal(f.status, 'not-configured');
  await assert.rejects(measureClickHouse({ url: 'http://127.0.0.1:1', database: 'x; drop', runId: 'ab', expected: 1 }), /unsafe/);
});
