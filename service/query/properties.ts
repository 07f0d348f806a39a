import { NEVER } from '../../core/registry/json-mapping.ts';
import type { Collection, Path, Segment } from './parser.ts';
import { queryError } from './tokenizer.ts';

/**
 * Twin properties a query names, as SQL over `twins t JOIN devices d LEFT JOIN modules m` (the aliases of
 * core/twins/document.ts TWIN_SELECT), so a query sees exactly the document `GET /twins/{id}` returns.
 *
 * A value is SQL whose NULL means *undefined* (IoT Hub's "the property does not exist"); a JSON null is the jsonb
 * `null`. Identity fields map to typed columns (`text`, `number`) so comparisons against constants can use them
 * directly (and the primary key for deviceId); everything inside tags and properties is jsonb, read with `#>` and the
 * path as a `text[]` parameter — user-supplied names never become SQL text.
 */
export type SqlValue =
  | { type: 'jsonb'; sql: string }
  | { type: 'text'; sql: string }
  | { type: 'number'; sql: string }
  | { type: 'boolean'; sql: string };

/** Collects `$n` parameters; every user value goes through here. */
export class Params {
  readonly values: unknown[] = [];
  /** Identity tables the resolved properties read (`d` = devices, `m` = modules), so queries join only what they need. */
  readonly joins = new Set<'d' | 'm'>();
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    return `$${this.values.length}${cast ? `::${cast}` : ''}`;
  }
}

/** The resolved property: its SQL, the key a projection gets without AS, and the tags path when containment can serve it. */
export interface ResolvedProperty {
  value: SqlValue;
  name: string;
  /** For `tags.a.b` (names only): the path, so `= constant` can become `t.tags @> {...}` (GIN index of 0002). */
  tagsPath?: string[];
}

export function asJsonb(value: SqlValue): string {
  return value.type === 'jsonb' ? value.sql : `to_jsonb(${value.sql})`;
}

const iso = (column: string) => `coalesce(to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), '${NEVER}')`;
const isModule = `t.module_id <> ''`;

/** Root fields of the twin document (REST model `Twin`), keyed by lower-case name; names are matched case-insensitively. */
const ROOT: Record<string, { name: string; value: (c: Collection) => SqlValue }> = {
  deviceid: { name: 'deviceId', value: () => ({ type: 'text', sql: 't.device_id' }) },
  moduleid: { name: 'moduleId', value: (c) => ({ type: 'text', sql: c === 'devices.modules' ? 't.module_id' : 'NULL::text' }) },
  etag: { name: 'etag', value: () => ({ type: 'text', sql: 't.etag' }) },
  deviceetag: { name: 'deviceEtag', value: () => ({ type: 'text', sql: 'coalesce(m.etag, d.etag)' }) },
  version: { name: 'version', value: () => ({ type: 'number', sql: 't.version' }) },
  status: { name: 'status', value: () => ({ type: 'text', sql: 'd.status' }) },
  statusreason: { name: 'statusReason', value: () => ({ type: 'text', sql: 'd.status_reason' }) },
  statusupdatetime: { name: 'statusUpdateTime', value: () => ({ type: 'text', sql: iso('d.status_updated_time') }) },
  connectionstate: { name: 'connectionState', value: () => ({ type: 'text', sql: 'coalesce(m.connection_state, d.connection_state)' }) },
  lastactivitytime: { name: 'lastActivityTime', value: () => ({ type: 'text', sql: iso(`CASE WHEN ${isModule} THEN m.last_activity_time ELSE d.last_activity_time END`) }) },
  cloudtodevicemessagecount: { name: 'cloudToDeviceMessageCount', value: () => ({ type: 'number', sql: 'coalesce(m.cloud_to_device_message_count, d.cloud_to_device_message_count)' }) },
  authenticationtype: { name: 'authenticationType', value: () => ({ type: 'text', sql: 'coalesce(m.auth_type, d.auth_type)' }) },
  x509thumbprint: {
    name: 'x509Thumbprint',
    value: () => ({
      type: 'jsonb',
      sql: `jsonb_build_object('primaryThumbprint', CASE WHEN ${isModule} THEN m.primary_thumbprint ELSE d.primary_thumbprint END, 'secondaryThumbprint', CASE WHEN ${isModule} THEN m.secondary_thumbprint ELSE d.secondary_thumbprint END)`,
    }),
  },
  modelid: { name: 'modelId', value: () => ({ type: 'text', sql: 't.model_id' }) },
  capabilities: {
    name: 'capabilities',
    value: (c) => ({ type: 'jsonb', sql: c === 'devices' ? `jsonb_build_object('iotEdge', coalesce(d.capabilities -> 'iotEdge' = 'true'::jsonb, false))` : 'NULL::jsonb' }),
  },
};
const ROOT_NAMES = [...Object.values(ROOT).map((r) => r.name), 'tags', 'properties.desired', 'properties.reported'].join(', ');

function section(which: 'desired' | 'reported'): { values: string; metadata: string; version: string } {
  const lastUpdatedVersion = which === 'desired' ? `, '$lastUpdatedVersion', t.desired_version` : '';
  return {
    values: `t.${which}`,
    // The same defaults twinDocument() shows on a twin never patched: a root $lastUpdated (creation time).
    metadata: `(jsonb_build_object('$lastUpdated', ${iso('t.created_at')}${lastUpdatedVersion}) || t.${which}_metadata)`,
    version: `t.${which}_version`,
  };
}

/** `base #> path` with the path as a parameter; an empty path is the base itself. */
function dig(base: string, rest: Segment[], params: Params): string {
  if (rest.length === 0) return base;
  return `(${base} #> ${params.add(rest.map(String), 'text[]')})`;
}

function lastName(segments: Segment[], fallback: string): string {
  const last = segments.at(-1);
  return typeof last === 'string' ? last : fallback;
}

export function resolveProperty(query: string, path: Path, collection: Collection, params: Params): ResolvedProperty {
  let segments = path.segments;
  // `devices.modules.moduleId` / `devices.deviceId`: the collection may prefix a property, as in the jobs examples.
  const prefix = collection === 'devices.modules' ? ['devices', 'modules'] : ['devices'];
  if (segments.length > prefix.length && prefix.every((p, i) => String(segments[i]).toLowerCase() === p)) segments = segments.slice(prefix.length);
  const [head, ...rest] = segments;
  const root = typeof head === 'string' ? head.toLowerCase() : '';
  const field = ROOT[root];
  if (field) {
    const value = field.value(collection);
    // The fragments come from ROOT above, never from the query, so scanning them for aliases is safe.
    if (/\bd\./.test(value.sql)) params.joins.add('d');
    if (/\bm\./.test(value.sql)) params.joins.add('m');
    if (rest.length === 0) return { value, name: field.name };
    if (value.type !== 'jsonb') return { value: { type: 'jsonb', sql: 'NULL::jsonb' }, name: lastName(rest, field.name) };
    return { value: { type: 'jsonb', sql: dig(value.sql, rest, params) }, name: lastName(rest, field.name) };
  }
  if (root === 'tags') {
    const names = rest.every((s): s is string => typeof s === 'string');
    return { value: { type: 'jsonb', sql: dig('t.tags', rest, params) }, name: lastName(segments, 'tags'), ...(names && rest.length > 0 ? { tagsPath: rest } : {}) };
  }
  if (root === 'properties') {
    const [which, ...inner] = rest;
    const kind = typeof which === 'string' ? which.toLowerCase() : undefined;
    if (which === undefined) {
      const d = section('desired');
      const r = section('reported');
      const sql = `jsonb_build_object('desired', ${d.values} || jsonb_build_object('$metadata', ${d.metadata}, '$version', ${d.version}), 'reported', ${r.values} || jsonb_build_object('$metadata', ${r.metadata}, '$version', ${r.version}))`;
      return { value: { type: 'jsonb', sql }, name: 'properties' };
    }
    if (kind !== 'desired' && kind !== 'reported') {
      throw queryError(query, path.pos, `properties has only desired and reported, not ${String(which)}`);
    }
    const s = section(kind);
    const [first, ...deeper] = inner;
    const firstLower = typeof first === 'string' ? first.toLowerCase() : undefined;
    if (first === undefined) {
      return { value: { type: 'jsonb', sql: `(${s.values} || jsonb_build_object('$metadata', ${s.metadata}, '$version', ${s.version}))` }, name: kind };
    }
    if (firstLower === '$version') {
      return deeper.length === 0 ? { value: { type: 'number', sql: s.version }, name: '$version' } : { value: { type: 'jsonb', sql: 'NULL::jsonb' }, name: lastName(deeper, '$version') };
    }
    if (firstLower === '$metadata') return { value: { type: 'jsonb', sql: dig(s.metadata, deeper, params) }, name: lastName(inner, '$metadata') };
    return { value: { type: 'jsonb', sql: dig(s.values, inner, params) }, name: lastName(inner, kind) };
  }
  // A typo (IoT Hub's own docs once wrote `property.reported`) would otherwise silently match nothing.
  throw queryError(query, path.pos, `unknown twin property ${segments.map(String).join('.') || '(empty)'}; a query can read ${ROOT_NAMES} and paths below tags and properties`);
}
