import { createHash } from 'node:crypto';
import { TributaryError } from '../../core/errors/index.ts';
import type { Queryable } from '../../core/store/types.ts';
import { twinDocument, type TwinRow } from '../../core/twins/document.ts';
import { compileTwinQuery, type CompiledQuery, type PagePosition } from './compile.ts';
import { parseTwinQuery } from './parser.ts';

/**
 * One page of a twin query (`POST /devices/query`, iothub-wire.md §5.4). The continuation token is opaque to callers:
 * base64url JSON holding where the next page starts (the last twin's key — keyset paging, so a page costs the same
 * however deep it is — or an offset into the groups of an aggregate), how many items were returned so far (for TOP) and
 * a hash of the query text, so a token replayed with another query is refused instead of silently misapplied.
 */
export interface QueryPage {
  items: unknown[];
  /** Present only when another page exists; the SDK stops when the header is absent. */
  continuation?: string;
  /** `x-ms-item-type`: `Twin` for `SELECT *`, `Raw` for projections and aggregates. */
  itemType: 'Twin' | 'Raw';
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

interface TokenState {
  v: 1;
  /** Hash of the query text. */
  h: string;
  /** Items returned so far. */
  n: number;
  /** Keyset position: last device id and module id. */
  k?: [string, string];
  /** Offset into aggregate groups. */
  o?: number;
}

const hashOf = (query: string) => createHash('sha256').update(query).digest('base64url').slice(0, 16);

function badToken(why: string): TributaryError {
  return new TributaryError('ArgumentInvalid', `x-ms-continuation ${why}; send the token from the previous page of the same query unchanged, or none to start over`);
}

function decodeToken(token: string, query: string): TokenState {
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badToken('is not a continuation token this hub issued');
  }
  const s = state as Partial<TokenState>;
  const keyOk = s.k === undefined || (Array.isArray(s.k) && s.k.length === 2 && s.k.every((x) => typeof x === 'string'));
  const offsetOk = s.o === undefined || (Number.isSafeInteger(s.o) && s.o >= 0);
  if (typeof state !== 'object' || state === null || s.v !== 1 || typeof s.h !== 'string' || !Number.isSafeInteger(s.n) || (s.n ?? -1) < 0 || !keyOk || !offsetOk) {
    throw badToken('is not a continuation token this hub issued');
  }
  if (s.h !== hashOf(query)) throw badToken('belongs to a different query');
  return s as TokenState;
}

const encodeToken = (state: TokenState) => Buffer.from(JSON.stringify(state)).toString('base64url');

export async function runTwinQuery(db: Queryable, query: string, options: { pageSize?: number; continuation?: string } = {}): Promise<QueryPage> {
  const parsed = parseTwinQuery(query);
  const pageSize = Math.min(Math.max(1, Math.trunc(options.pageSize ?? DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE);
  const state: TokenState = options.continuation ? decodeToken(options.continuation, query) : { v: 1, h: hashOf(query), n: 0 };
  const remaining = parsed.top === undefined ? Infinity : parsed.top - state.n;
  const itemType = parsed.select === '*' ? 'Twin' : 'Raw';
  if (remaining <= 0) return { items: [], itemType };
  const limit = Math.min(pageSize, remaining);
  const position: PagePosition = state.k ? { kind: 'after', deviceId: state.k[0], moduleId: state.k[1] } : state.o !== undefined ? { kind: 'offset', offset: state.o } : { kind: 'start' };
  // One row more than the page: tells whether another page exists without an empty last page.
  const compiled = compileTwinQuery(query, parsed, { position, limit: limit + 1 });
  const rows = await db.query(compiled.sql, compiled.params);
  const more = rows.length > limit && limit < remaining;
  const pageRows = rows.slice(0, limit);
  const items = pageRows.map((row) => toItem(compiled, row));
  if (!more) return { items, itemType };
  const next: TokenState = { v: 1, h: state.h, n: state.n + items.length };
  if (compiled.shape === 'aggregate') {
    next.o = (state.o ?? 0) + items.length;
  } else {
    const last = pageRows.at(-1)!;
    next.k = compiled.shape === 'twins' ? [String(last.device_id), String(last.module_id)] : [String(last.k_device), String(last.k_module)];
  }
  return { items, continuation: encodeToken(next), itemType };
}

function toItem(compiled: CompiledQuery, row: Record<string, unknown>): unknown {
  if (compiled.shape === 'twins') return twinDocument(row as TwinRow);
  const item: Record<string, unknown> = {};
  for (const column of compiled.columns) {
    const value = row[column.column];
    if (value === null || value === undefined) continue;
    item[column.name] = column.form === 'wrapped' ? (value as unknown[])[0] : Number(value);
  }
  return item;
}
