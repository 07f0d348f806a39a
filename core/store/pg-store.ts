import pg from 'pg';
import type { PoolClient } from 'pg';
import { TributaryError } from '../errors/index.ts';
import { componentLogger } from '../logging/logger.ts';
import { abortedTransaction, redactUrl, toStoreError, unavailable } from './store-errors.ts';
import { assertNotInTransaction, inTransactionScope } from './tx-scope.ts';
import type { Queryable, Row, Store, Transaction } from './types.ts';

const log = componentLogger('pg-store');

export interface PgStoreOptions {
  /** postgres://user:password@host:port/database (TRIBUTARY_DATABASE_URL). */
  url: string;
  /**
   * Schema to work in (sets the connection's search_path). Tests use a fresh schema per run; production leaves it
   * unset and gets `public`. The schema must exist.
   */
  schema?: string;
  /** Pool size; each hub process needs few connections because statements are short. */
  maxConnections?: number;
  /** How long to wait for a connection before failing with StoreUnavailable. */
  connectTimeoutMs?: number;
}

const INT8_OID = 20;

/**
 * node-postgres returns int8 as a string (it cannot know the value fits a double); PGlite returns a number. Parse to
 * a number here so `count(*)` and bigint versions have one type on both stores (types.ts). Per pool, not the
 * process-wide pg.types registry, so other pg users in the process are unaffected.
 */
const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** PostgreSQL through a node-postgres Pool: the production store, shared by every hub process. */
export class PgStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly where: string;
  private closed = false;

  constructor(options: PgStoreOptions) {
    if (options.schema !== undefined && !IDENTIFIER.test(options.schema)) {
      // The schema goes into the connection's startup options, so only plain lower-case identifiers are accepted.
      throw new TributaryError('ConfigInvalid', `store schema "${options.schema}" must match ${IDENTIFIER}`);
    }
    this.where = redactUrl(options.url) + (options.schema ? ` (schema ${options.schema})` : '');
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      types: typeParsers,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    });
    // An idle client whose server went away emits 'error' on the pool; without a listener that kills the process.
    this.pool.on('error', (err) => log.warn({ err, where: this.where }, 'idle database connection failed; it will be replaced'));
  }

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    this.assertOpen();
    assertNotInTransaction(this, 'query');
    try {
      const result = await this.pool.query<T>(sql, params as unknown[]);
      return result.rows;
    } catch (err) {
      throw toStoreError(err, sql, this.where);
    }
  }

  async exec(script: string): Promise<void> {
    this.assertOpen();
    assertNotInTransaction(this, 'exec');
    try {
      // No parameters → the simple query protocol, which accepts several statements in one string.
      await this.pool.query(script);
    } catch (err) {
      throw toStoreError(err, script, this.where);
    }
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    this.assertOpen();
    assertNotInTransaction(this, 'transaction');
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unavailable(err, this.where);
    }
    const handle = new PgTransaction(client, this.where);
    let broken: Error | undefined;
    try {
      await handle.run('BEGIN');
      const result = await inTransactionScope(this, () => fn(handle));
      const commit = await handle.run('COMMIT');
      if (commit.command === 'ROLLBACK') throw abortedTransaction(this.where);
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        // The connection is unusable; tell the pool to discard it rather than hand it to the next caller.
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      }
      throw err;
    } finally {
      handle.ended = true;
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private assertOpen(): void {
    if (this.closed) throw new TributaryError('StoreUnavailable', `the store for ${this.where} was closed`, { retriable: false });
  }
}

class PgTransaction implements Queryable {
  ended = false;
  constructor(private readonly client: PoolClient, private readonly where: string) {}

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.run<T>(sql, params)).rows;
  }

  async exec(script: string): Promise<void> {
    await this.run(script);
  }

  async run<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<pg.QueryResult<T>> {
    if (this.ended) throw new TributaryError('ServerError', 'a transaction handle was used after its transaction ended; use it only inside the callback');
    try {
      return params === undefined ? await this.client.query<T>(sql) : await this.client.query<T>(sql, params as unknown[]);
    } catch (err) {
      throw toStoreError(err, sql, this.where);
    }
  }
}
