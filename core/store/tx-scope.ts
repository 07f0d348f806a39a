import { AsyncLocalStorage } from 'node:async_hooks';
import { TributaryError } from '../errors/index.ts';

/**
 * Catches a classic mistake: calling `store.query` instead of `tx.query` inside `store.transaction(fn)`. On PGlite
 * (one connection) that call would wait for the transaction forever; on PostgreSQL it would silently run outside
 * the transaction, and with a busy pool could also wait forever. Both stores refuse it with a clear error instead.
 *
 * The check needs AsyncLocalStorage, and on Node 20 an AsyncLocalStorage in use installs promise hooks for the whole
 * process: every promise then pays for them (4% of an ingest node's CPU, measured with --cpu-prof). So the guard runs
 * where mistakes are made and caught — under the test runner (TRIBUTARY_TEST) — and is a no-op in a running hub.
 */
interface Scope {
  readonly owner: object;
  active: boolean;
}

const scopes = new AsyncLocalStorage<Scope>();
const enabled = Boolean(process.env.TRIBUTARY_TEST);

/** Runs fn marked as inside a transaction of `owner`; the mark ends when fn settles (later async work is free). */
export async function inTransactionScope<T>(owner: object, fn: () => Promise<T>): Promise<T> {
  if (!enabled) return fn();
  const scope: Scope = { owner, active: true };
  try {
    return await scopes.run(scope, fn);
  } finally {
    scope.active = false;
  }
}

/** Throws when called from inside a running transaction of `owner` (see the module comment). */
export function assertNotInTransaction(owner: object, operation: string): void {
  if (!enabled) return;
  const scope = scopes.getStore();
  if (scope?.active && scope.owner === owner) {
    throw new TributaryError(
      'ServerError',
      `store.${operation}() was called inside store.transaction(); use the transaction handle (tx.${operation === 'transaction' ? 'query' : operation}) — transactions do not nest`,
      { retriable: false },
    );
  }
}
