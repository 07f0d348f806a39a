/**
 * The store contract suite against the real PostgreSQL (127.0.0.1:5432, database `tributary`), each store in a fresh
 * schema that is dropped afterwards, plus what only a server can show: connection failures and separate pools.
 * TRIBUTARY_TEST_DATABASE_URL points it elsewhere.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { TributaryError } from '../errors/index.ts';
import { loadMigrations, migrate } from './migrate.ts';
import { openStore } from './open-store.ts';
import { PgStore } from './pg-store.ts';
import { storeContractSuite } from './store-suite.ts';
import type { Store } from './types.ts';

const URL_ = process.env.TRIBUTARY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tributary';
const run = randomBytes(4).toString('hex');
const schemas = new Map<Store, string>();
const created: string[] = [];
let counter = 0;

async function withAdmin<T>(fn: (admin: PgStore) => Promise<T>): Promise<T> {
  const admin = new PgStore({ url: URL_, maxConnections: 1 });
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

async function freshSchema(): Promise<string> {
  const schema = `tributary_test_${run}_${++counter}`;
  // Identifiers cannot be parameters; the name is built from hex and a counter above, never from input.
  await withAdmin((admin) => admin.exec(`CREATE SCHEMA ${schema}`));
  created.push(schema);
  return schema;
}

storeContractSuite('PgStore (PostgreSQL, fresh schema)', {
  async fresh() {
    const schema = await freshSchema();
    const store = new PgStore({ url: URL_, schema });
    schemas.set(store, schema);
    return store;
  },
  async sibling(store) {
    const schema = schemas.get(store);
    assert.ok(schema, 'sibling of a store this harness did not open');
    return new PgStore({ url: URL_, schema });
  },
  async cleanup() {
    await withAdmin(async (admin) => {
      for (const schema of created.splice(0)) await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    });
  },
});

describe('PgStore against a server', () => {
  let schema: string;
  before(async () => {
    schema = await freshSchema();
  });
  after(async () => {
    await withAdmin((admin) => admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  });

  test('separate pools starting together apply each migration once', async () => {
    const stores = [1, 2, 3].map(() => new PgStore({ url: URL_, schema }));
    try {
      const results = await Promise.all(stores.map((s) => migrate(s)));
      const known = (await loadMigrations()).map((m) => m.file);
      const applied = results.flatMap((r) => r.applied.map((m) => m.file)).sort();
      assert.deepEqual(applied, known, 'every migration applied by exactly one of the starters');
      const rows = await stores[0]!.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.equal(rows.length, known.length);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('openStore with a database URL opens PostgreSQL (search_path given in the URL) and finds it migrated', async () => {
    const url = `${URL_}${URL_.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const store = await openStore({ dataDir: '/nonexistent-not-used', databaseUrl: url });
    try {
      assert.equal(store.kind, 'postgres');
      const [row] = await store.query<{ schema: string }>('SELECT current_schema() AS schema');
      assert.equal(row?.schema, schema);
      assert.deepEqual((await migrate(store)).applied, []);
    } finally {
      await store.close();
    }
  });

  test('an unreachable server is StoreUnavailable and retriable, without the password in the message', async () => {
    const store = new PgStore({ url: 'postgres://postgres:s3cret@127.0.0.1:1/tributary', connectTimeoutMs: 2000 });
    try {
      const err = await store.query('SELECT 1').catch((e: unknown) => e);
      assert.ok(err instanceof TributaryError);
      assert.equal(err.code, 'StoreUnavailable');
      assert.equal(err.retriable, true);
      assert.doesNotMatch(err.message, /s3cret/);
      await assert.rejects(store.transaction(async () => 1), (e: unknown) => e instanceof TributaryError && e.code === 'StoreUnavailable');
    } finally {
      await store.close();
    }
  });

  test('a database that does not exist is StoreUnavailable, not retriable, and says what to do', async () => {
    const missing = new URL(URL_);
    missing.pathname = `/tributary_missing_${run}`;
    const store = new PgStore({ url: missing.toString() });
    try {
      const err = await store.query('SELECT 1').catch((e: unknown) => e);
      assert.ok(err instanceof TributaryError);
      assert.equal(err.code, 'StoreUnavailable');
      assert.equal(err.retriable, false);
      assert.match(err.message, /does not exist; create it/);
    } finally {
      await store.close();
    }
  });
});
