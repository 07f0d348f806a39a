/**
 * `npm run bench -- twins-query` / `tributary bench twins-query`: latency of IoT Hub twin queries (parse, compile, run,
 * shape one page — what `POST /devices/query` does minus HTTP) over N twins, against a hand-written SQL query giving the
 * same rows, run interleaved in the same process on the same data (DESIGN.md §10: figures and ratios, no thresholds).
 *
 * The baseline is the SQL a person would write for the question without the compiler: plain `->`/`->>` operators and
 * casts that assume the data's types, no IoT Hub type semantics, no twin document shaping. Both results are checked
 * to be the same before the figures are printed.
 *
 * Twins are seeded with one INSERT … SELECT generate_series per table (devices, twins), in a fresh PostgreSQL schema
 * (dropped afterwards) or an in-memory PGlite.
 *
 * Options: --twins N (100000) --iterations I (200 per query) --store postgres|pglite (postgres)
 *          --database URL (TRIBUTARY_DATABASE_URL or postgres://postgres@127.0.0.1:5432/tributary)
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { migrate, PgliteStore, PgStore, type Store } from '../../core/store/index.ts';
import { TWIN_SELECT } from '../../core/twins/document.ts';
import { formatTable } from '../../load-tests/table.ts';
import { runTwinQuery } from './run-query.ts';

interface Case {
  label: string;
  query: string;
  /** Hand-written SQL returning the same page. */
  baseline: string;
  /** A comparable form of either result, to check both gave the same answer. */
  ours: (items: unknown[]) => string;
  theirs: (rows: Record<string, unknown>[]) => string;
  pageSize?: number;
}

const REGIONS = ['north', 'south', 'east', 'west', 'central'];
const STATUSES = ['Success', 'Pending', 'Error'];
const ids = (items: unknown[]) => items.map((t) => (t as { deviceId: string }).deviceId).join(',');
const rowIds = (rows: Record<string, unknown>[]) => rows.map((r) => String(r.device_id)).join(',');
const groups = (pairs: Array<[unknown, unknown]>) => pairs.map(([k, n]) => `${String(k)}=${String(n)}`).sort().join(',');

const CASES: Case[] = [
  {
    label: 'tag equality, first page of 100 twins',
    query: "SELECT * FROM devices WHERE tags.location.region = 'west'",
    baseline: `SELECT ${TWIN_SELECT} WHERE t.module_id = '' AND t.tags -> 'location' ->> 'region' = 'west' ORDER BY t.device_id, t.module_id LIMIT 100`,
    ours: ids,
    theirs: rowIds,
  },
  {
    label: 'reported numeric range, first page of 100 twins',
    query: 'SELECT * FROM devices WHERE properties.reported.temperature >= 20 AND properties.reported.temperature < 20.5',
    baseline: `SELECT ${TWIN_SELECT} WHERE t.module_id = '' AND (t.reported ->> 'temperature')::numeric >= 20 AND (t.reported ->> 'temperature')::numeric < 20.5 ORDER BY t.device_id, t.module_id LIMIT 100`,
    ours: ids,
    theirs: rowIds,
  },
  {
    label: 'projection with a tag filter, first page of 100',
    query: 'SELECT deviceId, properties.reported.fw AS fw FROM devices WHERE tags.floor = 3',
    baseline: `SELECT t.device_id, t.reported -> 'fw' AS fw FROM twins t WHERE t.module_id = '' AND (t.tags ->> 'floor')::int = 3 ORDER BY t.device_id LIMIT 100`,
    ours: (items) => (items as Array<{ deviceId: string; fw: string }>).map((i) => `${i.deviceId}:${i.fw}`).join(','),
    theirs: (rows) => rows.map((r) => `${String(r.device_id)}:${String(r.fw)}`).join(','),
  },
  {
    label: 'COUNT() GROUP BY a reported property',
    query: 'SELECT properties.reported.telemetryConfig.status AS status, COUNT() AS n FROM devices GROUP BY properties.reported.telemetryConfig.status',
    baseline: `SELECT t.reported -> 'telemetryConfig' ->> 'status' AS status, count(*) AS n FROM twins t WHERE t.module_id = '' GROUP BY 1`,
    ours: (items) => groups((items as Array<{ status: string; n: number }>).map((i) => [i.status, i.n])),
    theirs: (rows) => groups(rows.map((r) => [r.status, r.n])),
  },
  {
    label: 'COUNT() with a tag filter',
    query: "SELECT COUNT() AS n FROM devices WHERE tags.location.region = 'north' AND tags.floor > 5",
    baseline: `SELECT count(*) AS n FROM twins t WHERE t.module_id = '' AND t.tags -> 'location' ->> 'region' = 'north' AND (t.tags ->> 'floor')::int > 5`,
    ours: (items) => String((items[0] as { n: number }).n),
    theirs: (rows) => String(rows[0]?.n),
  },
];

async function seed(store: Store, twins: number): Promise<void> {
  // Everything derives from the series number, so both queries see the same deterministic data.
  await store.query(
    `INSERT INTO devices (device_id, generation_id, etag, auth_type)
     SELECT 'device-' || lpad(i::text, 7, '0'), i::text, 'MA==', 'none' FROM generate_series(1, $1::int) AS i`,
    [twins],
  );
  await store.query(
    `INSERT INTO twins (device_id, etag, tags, reported)
     SELECT 'device-' || lpad(i::text, 7, '0'), 'AAAAAAAAAAE=',
       jsonb_build_object('location', jsonb_build_object('region', ($2::text[])[1 + i % 5]), 'floor', i % 10),
       jsonb_build_object('temperature', ((i::bigint * 7919) % 400) / 10.0, 'fw', '1.0.' || (i % 20),
                          'telemetryConfig', jsonb_build_object('status', ($3::text[])[1 + i % 3]))
     FROM generate_series(1, $1::int) AS i`,
    [twins, REGIONS, STATUSES],
  );
  await store.exec('ANALYZE devices; ANALYZE twins;');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

export async function run(argv: string[]): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      twins: { type: 'string', default: '100000' },
      iterations: { type: 'string', default: '200' },
      store: { type: 'string', default: 'postgres' },
      database: { type: 'string', default: process.env.TRIBUTARY_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tributary' },
    },
    allowPositionals: true,
  });
  const twins = Number(args.twins);
  const iterations = Number(args.iterations);
  console.log(`twin query benchmark: ${twins.toLocaleString()} device twins on ${args.store}, ${iterations} runs per query (ours and baseline interleaved)`);

  // Identifiers cannot be parameters; the schema name is hex from randomBytes, never input.
  const schema = `tributary_bench_query_${randomBytes(4).toString('hex')}`;
  let admin: PgStore | undefined;
  let store: Store;
  if (args.store === 'pglite') {
    store = await PgliteStore.open();
  } else {
    admin = new PgStore({ url: args.database, maxConnections: 1 });
    await admin.exec(`CREATE SCHEMA ${schema}`);
    store = new PgStore({ url: args.database, schema, maxConnections: 2 });
  }
  const rows: string[][] = [];
  const ratios: string[] = [];
  try {
    await migrate(store);
    const t0 = performance.now();
    await seed(store, twins);
    console.log(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    for (const c of CASES) {
      const ours: number[] = [];
      const theirs: number[] = [];
      let ourAnswer = '';
      let theirAnswer = '';
      // Two warm-up runs each (plans, caches), then interleaved measurements.
      for (let i = -2; i < iterations; i++) {
        let start = performance.now();
        const page = await runTwinQuery(store, c.query, { pageSize: c.pageSize ?? 100 });
        const mine = performance.now() - start;
        start = performance.now();
        const result = await store.query(c.baseline);
        const base = performance.now() - start;
        if (i < 0) {
          ourAnswer = c.ours(page.items);
          theirAnswer = c.theirs(result);
          continue;
        }
        ours.push(mine);
        theirs.push(base);
      }
      if (ourAnswer !== theirAnswer) throw new Error(`"${c.label}": the query and its baseline disagree:\n  ours:     ${ourAnswer.slice(0, 300)}\n  baseline: ${theirAnswer.slice(0, 300)}`);
      ours.sort((a, b) => a - b);
      theirs.sort((a, b) => a - b);
      const [p50, p99, b50, b99] = [percentile(ours, 50), percentile(ours, 99), percentile(theirs, 50), percentile(theirs, 99)];
      rows.push([c.label, p50.toFixed(2), p99.toFixed(2), b50.toFixed(2), b99.toFixed(2), (p50 / b50).toFixed(2)]);
      ratios.push(`${c.label}: ${(p50 / b50).toFixed(2)}x the hand-written SQL at p50, ${(p99 / b99).toFixed(2)}x at p99`);
    }
  } finally {
    await store.close();
    if (admin) {
      await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await admin.close();
    }
  }
  console.log();
  console.log(formatTable(['query (same rows both ways)', 'p50 ms', 'p99 ms', 'SQL p50 ms', 'SQL p99 ms', 'p50 ratio'], rows, [0]));
  console.log();
  for (const line of ratios) console.log(line);
}
