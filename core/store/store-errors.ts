import { TributaryError } from '../errors/index.ts';

/**
 * Maps what the drivers throw (node-postgres, PGlite) onto Tributary's codes, the same way for both, so callers
 * never look at driver error classes:
 * - cannot reach / lost the database → StoreUnavailable (retriable unless it is a configuration problem);
 * - a statement failed → ServerError with the SQLSTATE in `details.sqlState`, so the registry can turn a unique
 *   violation (23505) into DeviceAlreadyExists; serialization failures and deadlocks (class 40) are retriable.
 */

/** Socket-level failures reported by Node for the pg connection. */
const NETWORK_ERRNOS = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
]);

/** SQLSTATEs that mean "no usable connection", retriable or not (PostgreSQL appendix A, error codes). */
const UNAVAILABLE_STATES: Record<string, { retriable: boolean; hint: string }> = {
  '57P01': { retriable: true, hint: 'the server is shutting down (admin shutdown)' },
  '57P02': { retriable: true, hint: 'the server crashed' },
  '57P03': { retriable: true, hint: 'the server is starting up or in recovery' },
  '53300': { retriable: true, hint: 'the server has too many connections' },
  '3D000': { retriable: false, hint: 'the database does not exist; create it or fix the database name in TRIBUTARY_DATABASE_URL' },
  '28P01': { retriable: false, hint: 'password authentication failed; fix the credentials in TRIBUTARY_DATABASE_URL' },
  '28000': { retriable: false, hint: 'the server rejected the connection (pg_hba.conf or role); fix TRIBUTARY_DATABASE_URL' },
};

/** node-postgres and PGlite messages for a connection that is gone (no errno/SQLSTATE is attached to these). */
const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /not queryable/i,
  /cannot use a pool after calling end/i,
  /pglite is closed/i,
];

function field(err: unknown, name: string): string | undefined {
  if (typeof err !== 'object' || err === null || !(name in err)) return undefined;
  const value = (err as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The SQLSTATE of a driver error or of a TributaryError this module made from one. */
export function sqlStateOf(err: unknown): string | undefined {
  if (err instanceof TributaryError) {
    const state = err.details?.sqlState;
    return typeof state === 'string' ? state : undefined;
  }
  const code = field(err, 'code');
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True for a unique-constraint violation (SQLSTATE 23505), e.g. creating a device id that exists. */
export function isUniqueViolation(err: unknown): boolean {
  return sqlStateOf(err) === '23505';
}

/** Whether a driver error means the database cannot be used at all (as opposed to one statement failing). */
export function isConnectionError(err: unknown): boolean {
  const code = field(err, 'code');
  if (code !== undefined && (NETWORK_ERRNOS.has(code) || code.startsWith('08') || code in UNAVAILABLE_STATES)) return true;
  if (err instanceof AggregateError) return err.errors.some(isConnectionError);
  const message = err instanceof Error ? err.message : String(err);
  return UNAVAILABLE_MESSAGES.some((re) => re.test(message));
}

/** Wraps a connection failure; `where` names the database without credentials (see redactUrl). */
export function unavailable(err: unknown, where: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const code = field(err, 'code');
  const known = code === undefined ? undefined : UNAVAILABLE_STATES[code];
  const reason = err instanceof Error && err.message !== '' ? err.message : (code ?? String(err));
  const next = known?.hint ?? 'check that the database is running and reachable; the hub retries';
  return new TributaryError('StoreUnavailable', `cannot use the database at ${where}: ${reason} — ${next}`, {
    cause: err,
    retriable: known?.retriable ?? true,
    details: { where, ...(code === undefined ? {} : { errno: code }) },
  });
}

/** Wraps whatever a query threw: connection failures become StoreUnavailable, statement failures ServerError. */
export function toStoreError(err: unknown, sql: string, where: string): TributaryError {
  if (err instanceof TributaryError) return err;
  if (isConnectionError(err)) return unavailable(err, where);
  const sqlState = sqlStateOf(err);
  const message = err instanceof Error ? err.message : String(err);
  const details: Record<string, unknown> = { statement: sql.length > 200 ? `${sql.slice(0, 200)}…` : sql };
  if (sqlState !== undefined) details.sqlState = sqlState;
  for (const name of ['constraint', 'table', 'column', 'detail'] as const) {
    const value = field(err, name);
    if (value !== undefined) details[name] = value;
  }
  return new TributaryError('ServerError', `database statement failed: ${message}${sqlState ? ` (SQLSTATE ${sqlState})` : ''}`, {
    cause: err,
    // Class 40 (serialization failure, deadlock) succeeds when the whole transaction is run again.
    retriable: sqlState?.startsWith('40') ?? false,
    details,
  });
}

/** A connection string without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable database URL)';
  }
}

/**
 * COMMIT of a transaction in which a statement failed (and the caller caught that failure) rolls back instead:
 * PostgreSQL answers "ROLLBACK" without an error, PGlite throws. Both stores raise this instead, so the caller never
 * believes a rolled-back transaction was committed.
 */
export function abortedTransaction(where: string): TributaryError {
  return new TributaryError(
    'ServerError',
    `the transaction on ${where} was rolled back at COMMIT because a statement in it failed; let the statement's error propagate or use a SAVEPOINT`,
    { retriable: false, details: { sqlState: '25P02' } },
  );
}
