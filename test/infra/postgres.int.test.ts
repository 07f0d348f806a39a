// Smoke test of the pre-started PostgreSQL through pg, in the database infra/postgres/ensure.sh creates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { services, uniqueName } from '../support/services.ts';

test('postgres: the tributary database answers parameterised queries and JSONB', async () => {
  const client = new pg.Client({ connectionString: services.databaseUrl });
  await client.connect();
  const table = uniqueName('smoke').replaceAll('-', '_');
  try {
    assert.equal((await client.query('select current_database() as db')).rows[0].db, 'tributary');
    await client.query(`create temporary table ${table} (id text primary key, doc jsonb not null)`);
    await client.query(`insert into ${table} values ($1, $2), ($3, $4)`, ['a', { tags: { floor: 1 } }, 'b', { tags: { floor: 2 } }]);
    const { rows } = await client.query(`select id from ${table} where (doc->'tags'->>'floor')::int > $1`, [1]);
    assert.deepEqual(rows, [{ id: 'b' }]);
  } finally {
    await client.end();
  }
});
