/**
 * ──── HOOK ──── device→ClickHouse latency. The ClickHouse connector (connectors/clickhouse, issue 7) writes one row per
 * D2C message to `{database}.messages`; its exact columns are its own business, so this looks at the table when the
 * run ends instead of assuming them:
 * - the message id column (`message_id` / `messageId`) finds this run's rows (`{runId}.…`) and counts them;
 * - the JSON body text column (`body` / `body_text`) gives the send time, the simulator's `"ts"` field;
 * - an insert/ingest time column (`inserted_at`, `ingested_at`, `insert_time`, …), if the connector keeps one, gives
 *   the arrival time; without it the row count (zero loss) is still reported and the note says what is missing.
 * Percentiles are computed by ClickHouse (quantilesExact), so millions of rows never leave the server.
 *
 * Plain HTTP with FORMAT JSON: works on Debian's ClickHouse 18.16 and current versions alike. The only values spliced
 * into SQL are the run id (hex, checked) and the database name (an identifier, checked).
 */
import { TributaryError } from '../../core/errors/index.ts';
import { sleep } from '../simulator/rate-limiter.ts';
import { TABLE_PERCENTILES, spectrumPercentiles, type LatencyFigures, type PercentilePoint } from '../report/percentiles.ts';
import type { ClickHouseFigures } from '../report/types.ts';

interface Column {
  name: string;
  type: string;
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const res = await fetch(new URL('/', url), { method: 'POST', body: `${sql} FORMAT JSON`, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (!res.ok) throw new TributaryError('ServiceUnavailable', `ClickHouse at ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { data: T[] }).data;
}

export function pickColumns(columns: Column[]): { id?: string; body?: string; insertedAt?: Column } {
  const find = (re: RegExp, typeRe?: RegExp) => columns.find((c) => re.test(c.name) && (!typeRe || typeRe.test(c.type)));
  const id = find(/^message_?id$/i)?.name;
  const body = find(/^body(_?text)?$/i, /String/)?.name;
  const insertedAt = find(/^_?(insert|inserted|ingest|ingested|written|stored|sink)_?(at|time|ts|timestamp)?$/i, /DateTime|Int64|UInt64/);
  return { ...(id ? { id } : {}), ...(body ? { body } : {}), ...(insertedAt ? { insertedAt } : {}) };
}

/** Milliseconds since the epoch of a time column, by its type (DateTime has whole seconds only). */
export function millisExpression(c: Column): string {
  if (/DateTime64/.test(c.type)) return `toUnixTimestamp64Milli(${c.name})`;
  if (/DateTime/.test(c.type)) return `toUInt64(${c.name}) * 1000`;
  return `toUInt64(${c.name})`;
}

export async function measureClickHouse(o: { url: string | undefined; database: string; runId: string; expected: number; waitMs?: number }): Promise<ClickHouseFigures> {
  if (!o.url) return { status: 'not-configured', note: 'TRIBUTARY_CLICKHOUSE_URL (or --clickhouse URL) is not set, so device→ClickHouse was not measured' };
  if (!/^[0-9a-f]+$/.test(o.runId) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.database)) throw new TributaryError('ArgumentInvalid', `unsafe run id or database name: ${o.runId} / ${o.database}`);
  try {
    const columns = await query<Column>(o.url, `SELECT name, type FROM system.columns WHERE database = '${o.database}' AND table = 'messages'`);
    if (columns.length === 0) return { status: 'no-table', note: `${o.database}.messages does not exist: the ClickHouse connector (issue 7) is not running in this hub yet` };
    const c = pickColumns(columns);
    if (!c.id) return { status: 'failed', note: `${o.database}.messages has no message id column (looked for message_id / messageId)` };
    const where = `${c.id} LIKE '${o.runId}.%'`;
    // The connector batches: wait (bounded) until every acknowledged message has a row, or the count stops moving.
    let rows = 0;
    const until = Date.now() + (o.waitMs ?? 30_000);
    for (let last = -1; Date.now() < until; last = rows) {
      rows = Number((await query<{ n: string }>(o.url, `SELECT uniqExact(${c.id}) AS n FROM ${o.database}.messages WHERE ${where}`))[0]?.n ?? 0);
      if (rows >= o.expected || (rows === last && rows > 0)) break;
      await sleep(2000);
    }
    if (!c.body || !c.insertedAt) {
      const missing = [!c.body ? 'a JSON body text column (body / body_text)' : '', !c.insertedAt ? 'an insert/ingest time column (inserted_at …)' : ''].filter(Boolean).join(' and ');
      return { status: 'measured', rows, note: `rows counted; latency not measured: ${o.database}.messages has no ${missing}` };
    }
    const levels = [...TABLE_PERCENTILES, ...spectrumPercentiles()].map((p) => p / 100);
    const latency = `(${millisExpression(c.insertedAt)} - visitParamExtractUInt(${c.body}, 'ts'))`;
    const [row] = await query<{ q: number[]; mx: number; mean: number; n: string }>(o.url,
      `SELECT quantilesExact(${levels.join(',')})(${latency}) AS q, max(${latency}) AS mx, avg(${latency}) AS mean, count() AS n FROM ${o.database}.messages WHERE ${where}`);
    if (!row || Number(row.n) === 0) return { status: 'measured', rows, note: 'no rows of this run arrived in time' };
    const points: PercentilePoint[] = levels.map((l, i) => ({ percentile: l * 100, ms: Number(row.q[i]) }));
    const at = (p: number) => points.find((x) => x.percentile === p)?.ms ?? 0;
    const figures: LatencyFigures = {
      summary: { count: Number(row.n), p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: Number(row.mx), mean: Number(row.mean) },
      table: [...points.slice(0, TABLE_PERCENTILES.length), { percentile: 100, ms: Number(row.mx) }],
      spectrum: [...points.slice(TABLE_PERCENTILES.length), { percentile: 100, ms: Number(row.mx) }],
    };
    const resolution = /DateTime64/.test(c.insertedAt.type) || !/DateTime/.test(c.insertedAt.type) ? '' : ' (whole-second resolution: the column is a DateTime)';
    return { status: 'measured', rows, latency: figures, note: `send time from the body's "ts", arrival from ${c.insertedAt.name}${resolution}` };
  } catch (err) {
    return { status: 'failed', note: `querying ClickHouse failed: ${(err as Error).message}` };
  }
}
