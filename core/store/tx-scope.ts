import { AsyncLocalStorage } from 'node:async_hooks';
import { TributaryError } from '../errors/index.ts';

/**
 * Catches a classic mistake: calling `store.query` instead of `tx.query` inside `store.transaction(fn)`. On PGlite
 * (one connection) that call would wait for the transaction forever; on PostgreSQL it would silently run outside
 * the transaction, and with a busy pool could also wait forever. Both stores refuse it with a clear error instead.
 */
interface Scope {
  readonly owner: object;
  active: boolean;
}

const scopes = new AsyncLocalStorage<Scope>();

/** Runs fn marked as inside a transaction of `owner`; the mark ends when fn settles (later async work is free). */
export async function inTransactionScope<T>(owner: object, fn: () => Promise<T>): Promise<T> {
  const scope: Scope = { owner, active: true };
  try {
    return await scopes.run(scope, fn);
  } finally {
    scope.active = false;
  }
}

/** Throws when called from inside a running transaction of `owner` (see the module comment). */
export function assertNotInTransaction(owner: object, operation: string): void {
  const scope = scopes.getStore();
  if (scope?.active && scope.owner === owner) {
    throw new TributaryError(
      'ServerError',
      `store.${operation}() was called inside store.transaction(); use the transaction handle (tx.${operation === 'transaction' ? 'query' : operation}) — transactions do not nest`,
      { retriable: false },
    );
  }
}
