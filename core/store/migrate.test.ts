import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { TributaryError } from '../errors/index.ts';
import { checksumOf, loadMigrations, MIGRATIONS_DIR } from './migrate.ts';
import { isConnectionError, isUniqueViolation, redactUrl, sqlStateOf, toStoreError } from './store-errors.ts';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-migrations-unit-'));
  dirs.push(dir);
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
  return dir;
}

const refused = (pattern: RegExp) => (err: unknown) =>
  err instanceof TributaryError && err.code === 'MigrationFailed' && pattern.test(err.message);

describe('loadMigrations', () => {
  test('reads the shipped migrations in version order, one per .sql file', async () => {
    const migrations = await loadMigrations();
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    assert.deepEqual(migrations.map((m) => m.file), files);
    assert.deepEqual(migrations.slice(0, 2).map((m) => [m.version, m.name]), [[1, 'registry'], [2, 'twins']]);
    for (const m of migrations) assert.equal(m.checksum, checksumOf(m.sql));
  });

  test('sorts by version and ignores files that are not .sql', async () => {
    const dir = await dirWith({ '0002-b.sql': 'SELECT 2;', '0001-a.sql': 'SELECT 1;', 'README.md': '#' });
    assert.deepEqual((await loadMigrations(dir)).map((m) => m.version), [1, 2]);
  });

  test('refuses badly named files, duplicate versions and version 0', async () => {
    await assert.rejects(loadMigrations(await dirWith({ '1-a.sql': '' })), refused(/not named NNNN-name\.sql/));
    await assert.rejects(loadMigrations(await dirWith({ '0001-Add_Thing.sql': '' })), refused(/not named NNNN-name\.sql/));
    await assert.rejects(loadMigrations(await dirWith({ '0001-a.sql': '', '0001-b.sql': '' })), refused(/share version 1/));
    await assert.rejects(loadMigrations(await dirWith({ '0000-a.sql': '' })), refused(/start at 0001/));
  });

  test('refuses files that manage their own transaction, but accepts PL/pgSQL blocks', async () => {
    await assert.rejects(loadMigrations(await dirWith({ '0001-a.sql': 'BEGIN;\nCREATE TABLE t (a int);\nCOMMIT;\n' })), refused(/BEGIN\/COMMIT/));
    const plpgsql = 'CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\n';
    assert.equal((await loadMigrations(await dirWith({ '0001-a.sql': plpgsql }))).length, 1);
  });

  test('a missing directory is MigrationFailed naming it', async () => {
    await assert.rejects(loadMigrations('/nonexistent/migrations'), refused(/\/nonexistent\/migrations/));
  });

  test('checksums ignore CRLF vs LF but nothing else', () => {
    assert.equal(checksumOf('A;\r\nB;\r\n'), checksumOf('A;\nB;\n'));
    assert.notEqual(checksumOf('A;\nB;\n'), checksumOf('A;\nB; \n'));
  });
});

describe('store error mapping', () => {
  test('socket and connection-class failures are StoreUnavailable', () => {
    const refusedConn = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    assert.ok(isConnectionError(refusedConn));
    assert.ok(isConnectionError(Object.assign(new Error('x'), { code: '08006' })));
    assert.ok(isConnectionError(new AggregateError([refusedConn], '')));
    assert.ok(isConnectionError(new Error('Connection terminated unexpectedly')));
    const err = toStoreError(refusedConn, 'SELECT 1', 'postgres://db/x');
    assert.equal(err.code, 'StoreUnavailable');
    assert.equal(err.retriable, true);
  });

  test('statement failures are ServerError with the SQLSTATE; class 40 is retriable', () => {
    const dup = Object.assign(new Error('duplicate key'), { code: '23505', constraint: 'devices_pkey', severity: 'ERROR' });
    const err = toStoreError(dup, 'INSERT …', 'w');
    assert.equal(err.code, 'ServerError');
    assert.equal(err.retriable, false);
    assert.equal(err.details?.constraint, 'devices_pkey');
    assert.ok(isUniqueViolation(err) && isUniqueViolation(dup));
    assert.equal(toStoreError(Object.assign(new Error('deadlock'), { code: '40P01' }), 's', 'w').retriable, true);
    assert.equal(sqlStateOf(new Error('plain')), undefined);
    assert.ok(!isConnectionError(dup));
  });

  test('coded errors pass through unchanged', () => {
    const coded = new TributaryError('DeviceNotFound', 'x');
    assert.equal(toStoreError(coded, 's', 'w'), coded);
  });

  test('redactUrl hides the password and survives garbage', () => {
    assert.equal(redactUrl('postgres://u:secret@h:5432/db'), 'postgres://u:***@h:5432/db');
    assert.equal(redactUrl('postgres://u@h/db'), 'postgres://u@h/db');
    assert.equal(redactUrl('not a url'), '(unparsable database URL)');
  });
});
