/**
 * The store contract suite: every Store implementation runs exactly these tests (PgliteStore as a unit test,
 * PgStore against the real PostgreSQL as an integration test), so "the same SQL on both" is checked, not assumed.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TributaryError } from '../errors/index.ts';
import { loadMigrations, migrate, MIGRATIONS_DIR, type Migration } from './migrate.ts';
import { isUniqueViolation, sqlStateOf } from './store-errors.ts';
import type { Store } from './types.ts';

export interface StoreHarness {
  /** A store on a new, empty database (PGlite: a new temp dir; PostgreSQL: a new schema). */
  fresh(): Promise<Store>;
  /** Another store on the same database as `store` (separate connections), where the implementation allows it. */
  sibling?(store: Store): Promise<Store>;
  /** Drops whatever `fresh` created; called once after the suite, after every store was closed. */
  cleanup(): Promise<void>;
}

function isCode(code: string, pattern?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof TributaryError, `expected a TributaryError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

async function tables(store: Store): Promise<string[]> {
  const rows = await store.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`,
  );
  return rows.map((r) => r.table_name);
}

const device = (id: string, extra: Record<string, unknown> = {}) =>
  ({ id, generation: `g-${id}`, etag: `e-${id}`, ...extra });

async function insertDevice(store: Pick<Store, 'query'>, id: string): Promise<void> {
  const d = device(id);
  await store.query(
    `INSERT INTO devices (device_id, generation_id, etag, primary_key, secondary_key) VALUES ($1, $2, $3, $4, $5)`,
    [d.id, d.generation, d.etag, 'cHJpbWFyeQ==', 'c2Vjb25kYXJ5'],
  );
}

export function storeContractSuite(name: string, harness: StoreHarness): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let known: Migration[];
    const opened: Store[] = [];
    const scratch: string[] = [];

    async function fresh(): Promise<Store> {
      const s = await harness.fresh();
      opened.push(s);
      return s;
    }

    async function migrationsCopy(): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), 'tributary-migrations-'));
      scratch.push(dir);
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
      return dir;
    }

    before(async () => {
      known = await loadMigrations();
      store = await fresh();
    });

    after(async () => {
      for (const s of opened) await s.close();
      for (const dir of scratch) await rm(dir, { recursive: true, force: true });
      await harness.cleanup();
    });

    test('migrations apply in order from the shared files and are recorded with their checksums', async () => {
      assert.deepEqual(await tables(store), []);
      const result = await migrate(store);
      assert.deepEqual(result.applied.map((m) => m.file), known.map((m) => m.file));
      assert.ok(known.length >= 2 && known[0]?.file === '0001-registry.sql');
      assert.equal(result.version, known.at(-1)?.version);
      const rows = await store.query<{ version: number; name: string; checksum: string; applied_at: Date }>(
        'SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version',
      );
      assert.deepEqual(rows.map((r) => [r.version, r.name, r.checksum]), known.map((m) => [m.version, m.name, m.checksum]));
      assert.ok(rows.every((r) => r.applied_at instanceof Date));
      const names = await tables(store);
      for (const table of ['devices', 'modules', 'shared_access_policies', 'twins', 'schema_migrations']) {
        assert.ok(names.includes(table), `table ${table} missing: ${names.join(', ')}`);
      }
    });

    test('migrating again applies nothing and changes nothing', async () => {
      const before = await store.query('SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version');
      const result = await migrate(store);
      assert.deepEqual(result.applied, []);
      assert.equal(result.version, known.at(-1)?.version);
      assert.deepEqual(await store.query('SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version'), before);
    });

    test('a migration file changed after it was applied is refused', async () => {
      const dir = await migrationsCopy();
      const file = join(dir, '0002-twins.sql');
      await writeFile(file, `${await readFile(file, 'utf8')}\n-- an innocent-looking edit\n`);
      await assert.rejects(migrate(store, { dir }), isCode('MigrationFailed', /0002-twins\.sql was changed after it was applied/));
    });

    test('a database migrated by a newer version is refused', async () => {
      await store.query(`INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`, [9999, 'from-the-future', 'x']);
      try {
        await assert.rejects(migrate(store), isCode('MigrationFailed', /migrated by a newer Tributary.*9999-from-the-future/));
      } finally {
        await store.query('DELETE FROM schema_migrations WHERE version = $1', [9999]);
      }
      assert.deepEqual((await migrate(store)).applied, []);
    });

    test('a failing migration rolls back entirely and is not recorded', async () => {
      const dir = await migrationsCopy();
      await writeFile(join(dir, '0900-broken.sql'), 'CREATE TABLE half_done (a int);\nSELECT no_such_function();\n');
      await assert.rejects(migrate(store, { dir }), isCode('MigrationFailed', /0900-broken\.sql failed and was rolled back/));
      assert.ok(!(await tables(store)).includes('half_done'));
      assert.deepEqual(await store.query('SELECT version FROM schema_migrations WHERE version = $1', [900]), []);
    });

    test('a transaction commits what fn did and returns its result', async () => {
      const result = await store.transaction(async (tx) => {
        await insertDevice(tx, 'tx-commit');
        return (await tx.query<{ n: number }>('SELECT count(*) AS n FROM devices WHERE device_id = $1', ['tx-commit']))[0]?.n;
      });
      assert.equal(result, 1);
      assert.equal((await store.query('SELECT 1 FROM devices WHERE device_id = $1', ['tx-commit'])).length, 1);
    });

    test('a transaction rolls back when fn throws and rethrows the same error', async () => {
      const thrown = new TributaryError('DeviceAlreadyExists', 'from fn');
      const caught = await store
        .transaction(async (tx) => {
          await insertDevice(tx, 'tx-rollback');
          throw thrown;
        })
        .catch((err: unknown) => err);
      assert.equal(caught, thrown);
      assert.deepEqual(await store.query('SELECT 1 FROM devices WHERE device_id = $1', ['tx-rollback']), []);
    });

    test('a transaction whose failed statement was swallowed does not claim to commit', async () => {
      await assert.rejects(
        store.transaction(async (tx) => {
          await insertDevice(tx, 'tx-aborted');
          await tx.query('SELECT no_such_column FROM devices').catch(() => undefined);
        }),
        (err: unknown) => isCode('ServerError', /rolled back at COMMIT/)(err) && sqlStateOf(err) === '25P02',
      );
      assert.deepEqual(await store.query('SELECT 1 FROM devices WHERE device_id = $1', ['tx-aborted']), []);
    });

    test('using the store instead of tx inside a transaction is refused, not a hang; the transaction rolls back', async () => {
      await assert.rejects(
        store.transaction(async (tx) => {
          await insertDevice(tx, 'tx-misuse');
          await store.query('SELECT 1');
        }),
        isCode('ServerError', /inside store\.transaction\(\); use the transaction handle/),
      );
      await assert.rejects(store.transaction(() => store.transaction(async () => 1)), isCode('ServerError', /transactions do not nest/));
      assert.deepEqual(await store.query('SELECT 1 FROM devices WHERE device_id = $1', ['tx-misuse']), []);
    });

    test('statement failures carry the SQLSTATE; unique violations are recognisable', async () => {
      await insertDevice(store, 'dup');
      const err = await insertDevice(store, 'dup').catch((e: unknown) => e);
      assert.ok(isCode('ServerError')(err));
      assert.ok(isUniqueViolation(err));
      assert.equal((err as TributaryError).retriable, false);
      const syntax = await store.query('SELEC 1').catch((e: unknown) => e);
      assert.equal(sqlStateOf(syntax), '42601');
    });

    test('values round-trip with the same JS types on every store', async () => {
      const [row] = await store.query(
        `SELECT $1::int8 AS big, count(*) AS n, $2::timestamptz AS at, $3::jsonb AS obj, $4::jsonb AS arr,
                $5::text[] AS list, $6::boolean AS flag, $7::text AS nothing, 1.5::numeric AS dec
           FROM devices WHERE device_id = $8`,
        [42, '2024-05-06T07:08:09.123Z', { a: [1, { b: null }] }, JSON.stringify(['x', 2]), ['a', 'b,c'], true, null, 'dup'],
      );
      assert.deepEqual(row, {
        big: 42, n: 1, at: new Date('2024-05-06T07:08:09.123Z'), obj: { a: [1, { b: null }] }, arr: ['x', 2],
        list: ['a', 'b,c'], flag: true, nothing: null, dec: '1.5',
      });
    });

    test('the registry schema enforces IoT Hub rules and cascades deletes to modules and twins', async () => {
      const noKeys = await store
        .query(`INSERT INTO devices (device_id, generation_id, etag, auth_type) VALUES ($1, $2, $3, 'sas')`, ['k', 'g', 'e'])
        .catch((e: unknown) => e);
      assert.equal(sqlStateOf(noKeys), '23514');
      const badRights = await store
        .query(`INSERT INTO shared_access_policies (key_name, primary_key, secondary_key, rights) VALUES ($1, $2, $3, $4)`,
          ['p', 'a', 'b', ['RegistryRead', 'Everything']])
        .catch((e: unknown) => e);
      assert.equal(sqlStateOf(badRights), '23514');
      await store.query(`INSERT INTO shared_access_policies (key_name, primary_key, secondary_key, rights) VALUES ($1, $2, $3, $4)`,
        ['iothubowner', 'a', 'b', ['RegistryRead', 'RegistryWrite', 'ServiceConnect', 'DeviceConnect']]);

      await store.transaction(async (tx) => {
        await insertDevice(tx, 'cascade');
        await tx.query(`INSERT INTO modules (device_id, module_id, generation_id, etag, auth_type) VALUES ($1, $2, $3, $4, 'none')`,
          ['cascade', 'm1', 'g', 'e']);
        await tx.query(`INSERT INTO twins (device_id, module_id, etag, tags) VALUES ($1, '', $2, $3), ($1, $4, $2, '{}')`,
          ['cascade', 'te', { site: 'north' }, 'm1']);
      });
      const orphan = await store.query(`INSERT INTO twins (device_id, module_id, etag) VALUES ($1, $2, $3)`, ['cascade', 'nope', 'e'])
        .catch((e: unknown) => e);
      assert.equal(sqlStateOf(orphan), '23503');
      const tagged = await store.query(`SELECT device_id FROM twins WHERE tags @> $1::jsonb`, [{ site: 'north' }]);
      assert.deepEqual(tagged, [{ device_id: 'cascade' }]);

      await store.query('DELETE FROM modules WHERE device_id = $1 AND module_id = $2', ['cascade', 'm1']);
      assert.deepEqual(await store.query('SELECT module_id FROM twins WHERE device_id = $1', ['cascade']), [{ module_id: '' }]);
      await store.query('DELETE FROM devices WHERE device_id = $1', ['cascade']);
      assert.deepEqual(await store.query('SELECT 1 FROM twins WHERE device_id = $1', ['cascade']), []);
    });

    test('concurrent starters apply each migration exactly once', async () => {
      const empty = await fresh();
      const other = harness.sibling ? await harness.sibling(empty) : empty;
      if (other !== empty) opened.push(other);
      const results = await Promise.all([migrate(empty), migrate(other), migrate(empty)]);
      const applied = results.flatMap((r) => r.applied.map((m) => m.file)).sort();
      assert.deepEqual(applied, known.map((m) => m.file).sort());
      assert.ok(results.every((r) => r.version === known.at(-1)?.version));
      const rows = await empty.query<{ n: number }>('SELECT count(*) AS n FROM schema_migrations');
      assert.equal(rows[0]?.n, known.length);
    });

    test('a closed store refuses work with StoreUnavailable and closes idempotently', async () => {
      const s = await fresh();
      await s.close();
      await s.close();
      await assert.rejects(s.query('SELECT 1'), (err: unknown) => isCode('StoreUnavailable')(err) && !(err as TributaryError).retriable);
      await assert.rejects(s.transaction(async () => 1), isCode('StoreUnavailable'));
    });
  });
}
