/**
 * What a failed ClickHouse request means for the batch. @clickhouse/client turns current servers' errors
 * ("Code: 27. DB::Exception: … (TYPE)") into ClickHouseError with a numeric `code`, but 18.16 words them
 * "Code: 27, e.displayText() = DB::Exception: …", which the client does not recognise: those arrive as a plain Error
 * whose message carries the code. Network failures carry Node's errno code (ECONNREFUSED, ECONNRESET, …).
 *
 * Codes from ClickHouse's src/Common/ErrorCodes.cpp. Only errors that say the *data* is bad are permanent; anything
 * else (server down, overloaded, too many parts, a table dropped under us, bad credentials) is retried, because
 * retrying loses nothing and an operator can fix it.
 */

/** The rows cannot be parsed or do not fit their column: retrying the same rows fails the same way. */
const DATA_ERRORS = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE (e.g. a lone UTF-16 surrogate escaped by JSON.stringify)
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
]);

/** The database, table or a column is gone: create the schema again before the retry. */
const SCHEMA_ERRORS = new Set([
  16, // NO_SUCH_COLUMN_IN_TABLE
  60, // UNKNOWN_TABLE
  81, // UNKNOWN_DATABASE
]);

export type FailureKind = 'data' | 'schema' | 'transient';

export function clickHouseErrorCode(err: unknown): number | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  const match = /^Code: (\d+)[.,]/.exec(err.message);
  return match ? Number(match[1]) : undefined;
}

export function classifyFailure(err: unknown): FailureKind {
  const code = clickHouseErrorCode(err);
  if (code === undefined) return 'transient';
  if (DATA_ERRORS.has(code)) return 'data';
  if (SCHEMA_ERRORS.has(code)) return 'schema';
  return 'transient';
}

/** One line for logs and SinkError messages: ClickHouse's message without 18.16's `e.what()` tail. */
export function describeFailure(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const errno = (err as { code?: unknown }).code;
  const text = err.message.replace(/,\s*e\.what\(\) = .*$/s, '').trim();
  return typeof errno === 'string' && !/^\d+$/.test(errno) && !text.includes(errno) ? `${errno}: ${text}` : text;
}
