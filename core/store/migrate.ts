import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TributaryError } from '../errors/index.ts';
import { componentLogger } from '../logging/logger.ts';
import type { Queryable, Store } from './types.ts';

/**
 * Versioned schema migrations: `migrations/NNNN-name.sql`, applied in version order, each in its own transaction
 * together with its row in `schema_migrations` (so a migration is either fully applied and recorded or not at all).
 *
 * Rules, checked on every start before anything is applied:
 * - an applied migration whose file changed (checksum) is refused — write a new migration instead of editing one;
 * - a database that holds versions this build does not know was migrated by a newer Tributary — refused, because
 *   this build's SQL may not understand the newer tables.
 * Several nodes starting at once are safe: every migration transaction first takes a transaction-scoped advisory
 * lock (per schema), then re-reads what is applied, so each migration runs exactly once. PGlite runs the same SQL.
 */

const log = componentLogger('store-migrate');

export const MIGRATIONS_DIR = join(import.meta.dirname, 'migrations');

const FILE_NAME = /^(\d{4})-([a-z0-9][a-z0-9-]*)\.sql$/;
/** Transaction control inside a file would break the one-transaction-per-migration guarantee. */
const TRANSACTION_CONTROL = /^\s*(BEGIN|START\s+TRANSACTION|COMMIT|ROLLBACK)\s*;/im;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly file: string;
  readonly sql: string;
  /** sha256 of the file with line endings normalised, so a Windows checkout does not look tampered. */
  readonly checksum: string;
}

export interface MigrateResult {
  /** Migrations this call applied (empty when the schema was already current). */
  readonly applied: readonly Migration[];
  /** The highest applied version after the call. */
  readonly version: number;
}

interface AppliedRow extends Record<string, unknown> {
  version: number;
  name: string;
  checksum: string;
}

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

function fail(message: string, cause?: unknown): TributaryError {
  return new TributaryError('MigrationFailed', message, cause === undefined ? {} : { cause });
}

/** Reads and checks the migration files of a directory, sorted by version. */
export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  } catch (err) {
    throw fail(`cannot read the migrations directory ${dir}: ${(err as Error).message}`, err);
  }
  const migrations: Migration[] = [];
  for (const file of names) {
    const match = FILE_NAME.exec(file);
    if (!match) throw fail(`migration file ${file} in ${dir} is not named NNNN-name.sql (four digits, lower-case name)`);
    const version = Number(match[1]);
    const previous = migrations.at(-1);
    if (previous?.version === version) throw fail(`migrations ${previous.file} and ${file} share version ${version}; renumber one`);
    if (version === 0) throw fail(`migration ${file}: versions start at 0001`);
    const sql = await readFile(join(dir, file), 'utf8');
    if (TRANSACTION_CONTROL.test(sql)) {
      throw fail(`migration ${file} contains BEGIN/COMMIT/ROLLBACK; remove it — each migration already runs in a transaction`);
    }
    migrations.push({ version, name: match[2] ?? '', file, sql, checksum: checksumOf(sql) });
  }
  return migrations;
}

const LOCK = `SELECT pg_advisory_xact_lock(hashtext('tributary.schema_migrations.' || current_schema()))`;
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** Takes the migration lock for the rest of the transaction and returns what is applied, checked against `known`. */
async function lockAndVerify(tx: Queryable, known: readonly Migration[]): Promise<Map<number, AppliedRow>> {
  await tx.query(LOCK);
  await tx.query(CREATE_TABLE);
  const rows = await tx.query<AppliedRow>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
  const byVersion = new Map(known.map((m) => [m.version, m]));
  const newest = known.at(-1)?.version ?? 0;
  for (const row of rows) {
    const migration = byVersion.get(row.version);
    const label = `${String(row.version).padStart(4, '0')}-${row.name}.sql`;
    if (migration === undefined && row.version > newest) {
      throw fail(
        `the database was migrated by a newer Tributary: it has migration ${label}, this build knows migrations up to ` +
          `${newest}. Run the newer version (or restore a backup taken before the upgrade); do not run older nodes against it.`,
      );
    }
    if (migration === undefined) {
      throw fail(`migration ${label} is applied in the database but its file is missing from ${MIGRATIONS_DIR}; restore the file`);
    }
    if (migration.name !== row.name || migration.checksum !== row.checksum) {
      throw fail(
        `migration ${migration.file} was changed after it was applied (checksum ${row.checksum.slice(0, 12)}… in the ` +
          `database, ${migration.checksum.slice(0, 12)}… on disk); restore the original file and put the change in a new migration`,
      );
    }
  }
  return new Map(rows.map((r) => [r.version, r]));
}

/** Brings the store's schema up to date with the migration files. Safe to call on every start and concurrently. */
export async function migrate(store: Store, options: { dir?: string; migrations?: readonly Migration[] } = {}): Promise<MigrateResult> {
  const known = options.migrations ?? (await loadMigrations(options.dir));
  const applied = await store.transaction((tx) => lockAndVerify(tx, known));
  const done: Migration[] = [];
  for (const migration of known) {
    if (applied.has(migration.version)) continue;
    const ran = await store.transaction(async (tx) => {
      // Re-check under the lock: another node may have applied it since we looked.
      const now = await lockAndVerify(tx, known);
      if (now.has(migration.version)) return false;
      try {
        await tx.exec(migration.sql);
      } catch (err) {
        if (err instanceof TributaryError && err.code === 'StoreUnavailable') throw err;
        throw fail(`migration ${migration.file} failed and was rolled back: ${(err as Error).message}; fix the file and start again`, err);
      }
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        migration.version, migration.name, migration.checksum,
      ]);
      return true;
    });
    if (ran) {
      done.push(migration);
      log.info({ migration: migration.file, store: store.kind }, 'applied store migration');
    }
  }
  // Every known migration is applied now (by this call or a concurrent one).
  const version = Math.max(0, ...applied.keys(), ...known.map((m) => m.version));
  return { applied: done, version };
}
