/**
 * The store contract: the one SQL database Tributary keeps its registry, twins and pending cloud-to-device messages in.
 * Two implementations speak the same PostgreSQL dialect — PgStore (a real server, `TRIBUTARY_DATABASE_URL`) and
 * PgliteStore (PostgreSQL compiled to WebAssembly, in-process, the zero-install default) — so every caller writes its
 * SQL once, with `$1` placeholders and never with values spliced into the text.
 *
 * Result types are the same on both: int8 (e.g. `count(*)`) and int4 come back as JS numbers, numeric as a string,
 * timestamptz as a Date, json/jsonb parsed, arrays as JS arrays. int8 values beyond 2^53 lose precision — select
 * them `::text` if that can happen.
 *
 * JSONB parameters: pass objects as they are, but pass *arrays* (and top-level strings) through `JSON.stringify` with
 * a `$n::jsonb` cast — node-postgres turns a JS array into a PostgreSQL array literal, which is not JSON.
 */
export type Row = Record<string, unknown>;

/** Anything that runs one parameterised statement: the store itself or a transaction handle. */
export interface Queryable {
  /** Runs one statement (`$1`, `$2` … placeholders) and returns its rows (empty for statements without RETURNING). */
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /**
   * Runs a script of several statements without parameters (migrations, DDL). Never build its text from input.
   */
  exec(script: string): Promise<void>;
}

/** The handle `transaction(fn)` passes to `fn`; statements on it run inside the transaction. */
export type Transaction = Queryable;

export type StoreKind = 'postgres' | 'pglite';

export interface Store extends Queryable {
  readonly kind: StoreKind;
  /**
   * Runs `fn` inside BEGIN … COMMIT; anything thrown rolls the transaction back and is rethrown unchanged.
   * Inside `fn` use only `tx`: a call on the store itself from inside `fn` is refused with ServerError (on PGlite it
   * would wait for the transaction forever; on PostgreSQL it would run outside it). Transactions do not nest.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Releases the connections (PgStore) or flushes and closes the database files (PgliteStore). Idempotent. */
  close(): Promise<void>;
}
