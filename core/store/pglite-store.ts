import { mkdir } from 'node:fs/promises';
import { PGlite, TransactionAbortedError, type Transaction as PgliteTransaction } from '@electric-sql/pglite';
import { TributaryError } from '../errors/index.ts';
import { abortedTransaction, toStoreError, unavailable } from './store-errors.ts';
import { assertNotInTransaction, inTransactionScope } from './tx-scope.ts';
import type { Queryable, Row, Store, Transaction } from './types.ts';

export interface PgliteStoreOptions {
  /**
   * Directory holding the database files (the hub uses `<dataDir>/store`); created if missing. Omit for a throw-away
   * in-memory database. One process at a time: PGlite is a single embedded PostgreSQL backend, not a server.
   */
  directory?: string;
}

/**
 * PostgreSQL compiled to WebAssembly, running in this process: the zero-install store (DESIGN §8). It is the same
 * server code as PgStore talks to, so the migrations and every statement are shared unchanged; the differences are
 * one connection (statements queue behind a running transaction) and one process per data directory.
 */
export class PgliteStore implements Store {
  readonly kind = 'pglite' as const;
  private closed = false;

  private constructor(private readonly db: PGlite, private readonly where: string) {}

  static async open(options: PgliteStoreOptions = {}): Promise<PgliteStore> {
    const where = options.directory ?? 'memory://';
    try {
      if (options.directory !== undefined) await mkdir(options.directory, { recursive: true });
      const db = await PGlite.create(options.directory === undefined ? {} : { dataDir: options.directory });
      return new PgliteStore(db, where);
    } catch (err) {
      throw unavailable(err, `PGlite ${where}`);
    }
  }

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    this.assertOpen();
    assertNotInTransaction(this, 'query');
    try {
      return (await this.db.query<T>(sql, params as unknown[])).rows;
    } catch (err) {
      throw toStoreError(err, sql, this.where);
    }
  }

  async exec(script: string): Promise<void> {
    this.assertOpen();
    assertNotInTransaction(this, 'exec');
    try {
      // exec() uses the simple query protocol, so a script of several statements runs as PostgreSQL would run it.
      await this.db.exec(script);
    } catch (err) {
      throw toStoreError(err, script, this.where);
    }
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    this.assertOpen();
    assertNotInTransaction(this, 'transaction');
    try {
      // PGlite issues BEGIN, then COMMIT when fn resolves or ROLLBACK (and rethrows) when it throws.
      return await this.db.transaction((tx) => inTransactionScope(this, () => fn(new PgliteTx(tx, this.where))));
    } catch (err) {
      if (err instanceof TransactionAbortedError) throw abortedTransaction(this.where);
      // Errors from fn (already TributaryErrors, or the caller's own) pass through unchanged; only driver errors
      // from BEGIN/COMMIT are wrapped.
      if (err instanceof TributaryError || !isDriverError(err)) throw err;
      throw toStoreError(err, 'COMMIT', this.where);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new TributaryError('StoreUnavailable', `the store at ${this.where} was closed`, { retriable: false });
  }
}

class PgliteTx implements Queryable {
  constructor(private readonly tx: PgliteTransaction, private readonly where: string) {}

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    try {
      return (await this.tx.query<T>(sql, params as unknown[])).rows;
    } catch (err) {
      throw toStoreError(err, sql, this.where);
    }
  }

  async exec(script: string): Promise<void> {
    try {
      await this.tx.exec(script);
    } catch (err) {
      throw toStoreError(err, script, this.where);
    }
  }
}

/** PGlite's DatabaseError carries a SQLSTATE `code` and a `severity`; anything else came from the caller's fn. */
function isDriverError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'severity' in err && 'code' in err;
}
