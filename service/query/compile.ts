import { TWIN_SELECT } from '../../core/twins/document.ts';
import { compileCondition } from './conditions.ts';
import type { Path, Projection, TwinQuery } from './parser.ts';
import { asJsonb, Params, resolveProperty } from './properties.ts';
import { queryError } from './tokenizer.ts';

/**
 * A parsed twin query → one parameterised PostgreSQL statement for one page. Every value the caller wrote is a `$n`
 * parameter; the SQL text is built only from this file's fragments, the column aliases of core/twins/document.ts and
 * generated column names (`p0`, `g0`, `a0`), never from the query text.
 *
 * Three shapes:
 * - `twins`     `SELECT *`: TWIN_SELECT rows, turned into documents by twinDocument(); keyset paging on the primary key.
 * - `rows`      projections: one `jsonb_build_array(value)` column per projection (SQL NULL = undefined, left out of
 *               the result object as IoT Hub leaves out undefined values); keyset paging.
 * - `aggregate` COUNT/SUM/AVG/MIN/MAX with or without GROUP BY: groups ordered by their keys, offset paging.
 */
export type PagePosition = { kind: 'start' } | { kind: 'after'; deviceId: string; moduleId: string } | { kind: 'offset'; offset: number };

export interface OutputColumn {
  /** The key in the result object. */
  name: string;
  /** The SQL column holding it. */
  column: string;
  /** `wrapped`: a jsonb array of one element, or NULL for undefined; `number`: a float8 aggregate. */
  form: 'wrapped' | 'number';
}

export interface CompiledQuery {
  shape: 'twins' | 'rows' | 'aggregate';
  sql: string;
  params: unknown[];
  columns: OutputColumn[];
}

/**
 * Twins joined with the identity tables the query reads. Leaving a join out never changes the rows: every twin has its
 * device (foreign key) and at most one module row (primary key).
 */
function baseFrom(params: Params): string {
  const joins = ['FROM twins t'];
  if (params.joins.has('d') || params.joins.has('m')) joins.push('JOIN devices d ON d.device_id = t.device_id');
  if (params.joins.has('m')) joins.push(`LEFT JOIN modules m ON m.device_id = t.device_id AND m.module_id = t.module_id AND t.module_id <> ''`);
  return joins.join('\n  ');
}

const wrap = (jsonb: string) => `CASE WHEN (${jsonb}) IS NULL THEN NULL ELSE jsonb_build_array(${jsonb}) END`;

/** The same property written twice (`GROUP BY tags.x` and `SELECT tags.x`) compares equal under this key. */
function pathKey(path: Path): string {
  return JSON.stringify(path.segments.map((s, i) => (i === 0 && typeof s === 'string' ? s.toLowerCase() : s)));
}

export function compileTwinQuery(text: string, query: TwinQuery, page: { position: PagePosition; limit: number }): CompiledQuery {
  const params = new Params();
  const ctx = { query: text, collection: query.from, params };
  const filters = [query.from === 'devices' ? `t.module_id = ''` : `t.module_id <> ''`];
  if (query.where) filters.push(compileCondition(query.where, ctx));
  const projections = query.select === '*' ? undefined : query.select;
  const aggregate = query.groupBy.length > 0 || (projections?.some((p) => p.kind === 'aggregate') ?? false);

  if (!projections || !aggregate) {
    if (query.groupBy.length > 0 && !projections) throw queryError(text, query.groupBy[0]!.pos, 'GROUP BY needs a SELECT list of grouped properties and aggregates, not *');
    const columns: OutputColumn[] = [];
    const selected: string[] = [];
    for (const [i, projection] of (projections ?? []).entries()) {
      const path = (projection as Extract<Projection, { kind: 'path' }>).path;
      const resolved = resolveProperty(text, path, query.from, params);
      columns.push({ name: projection.alias ?? resolved.name, column: `p${i}`, form: 'wrapped' });
      selected.push(`${wrap(asJsonb(resolved.value))} AS p${i}`);
    }
    checkUniqueNames(text, columns, projections);
    if (page.position.kind === 'after') {
      filters.push(`(t.device_id, t.module_id) > (${params.add(page.position.deviceId, 'text')}, ${params.add(page.position.moduleId, 'text')})`);
    }
    const head = projections ? `SELECT t.device_id AS k_device, t.module_id AS k_module, ${selected.join(', ')}\n${baseFrom(params)}` : `SELECT ${TWIN_SELECT}`;
    const sql = `${head}\nWHERE ${filters.join('\n  AND ')}\nORDER BY t.device_id, t.module_id\nLIMIT ${params.add(page.limit, 'int')}`;
    return { shape: projections ? 'rows' : 'twins', sql, params: params.values, columns };
  }

  // Aggregates: the grouped values and aggregate inputs in an inner query, grouped and aggregated outside.
  const inner: string[] = [];
  const groupColumns = new Map<string, string>();
  for (const [i, path] of query.groupBy.entries()) {
    const resolved = resolveProperty(text, path, query.from, params);
    inner.push(`${asJsonb(resolved.value)} AS g${i}`);
    groupColumns.set(pathKey(path), `g${i}`);
  }
  const outer: string[] = [];
  const columns: OutputColumn[] = [];
  let unnamed = 0;
  for (const [i, projection] of projections.entries()) {
    if (projection.kind === 'path') {
      const group = groupColumns.get(pathKey(projection.path));
      if (!group) throw queryError(text, projection.pos, 'with COUNT() or GROUP BY, SELECT may only name properties listed in GROUP BY');
      const resolved = resolveProperty(text, projection.path, query.from, new Params());
      columns.push({ name: projection.alias ?? resolved.name, column: `o${i}`, form: 'wrapped' });
      outer.push(`${wrap(group)} AS o${i}`);
      continue;
    }
    const name = projection.alias ?? `$${++unnamed}`;
    if (projection.name === 'COUNT') {
      outer.push(`count(*) AS o${i}`);
    } else {
      const value = resolveProperty(text, projection.arg!, query.from, params).value;
      const number = value.type === 'number' ? `${value.sql}::numeric` : `CASE WHEN jsonb_typeof(${asJsonb(value)}) = 'number' THEN (${asJsonb(value)})::numeric END`;
      inner.push(`${number} AS a${i}`);
      outer.push(`${projection.name.toLowerCase()}(a${i})::float8 AS o${i}`);
    }
    columns.push({ name, column: `o${i}`, form: 'number' });
  }
  checkUniqueNames(text, columns, projections);
  const groups = [...groupColumns.values()];
  const offset = page.position.kind === 'offset' ? page.position.offset : 0;
  const sql =
    `SELECT ${outer.join(', ')}\nFROM (SELECT ${inner.length > 0 ? inner.join(', ') : '1 AS one'}\n${baseFrom(params)}\nWHERE ${filters.join('\n  AND ')}) s` +
    (groups.length > 0 ? `\nGROUP BY ${groups.join(', ')}\nORDER BY ${groups.join(', ')}` : '') +
    `\nOFFSET ${params.add(offset, 'int')} LIMIT ${params.add(page.limit, 'int')}`;
  return { shape: 'aggregate', sql, params: params.values, columns };
}

function checkUniqueNames(text: string, columns: OutputColumn[], projections: Projection[] | undefined): void {
  const seen = new Set<string>();
  for (const [i, column] of columns.entries()) {
    if (seen.has(column.name)) throw queryError(text, projections?.[i]?.pos ?? 1, `two selected values are both named ${column.name}; give one of them another name with AS`);
    seen.add(column.name);
  }
}
