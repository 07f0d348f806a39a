/**
 * IoT Hub message enrichments (https://learn.microsoft.com/azure/iot-hub/iot-hub-message-enrichments-overview): per
 * hub, up to 10 {name, value, endpointNames} entries stamped on messages as application properties. A value is a
 * static string, `$iothubname`, or a twin path: `$twin.tags.<path>`, `$twin.properties.desired.<path>`,
 * `$twin.properties.reported.<path>`. A twin path the twin does not have leaves the enrichment out, as IoT Hub does.
 *
 * endpointNames scopes an enrichment to some endpoints. Enrich runs before routing, so it computes every enrichment
 * and records the scoped ones in a header; the router keeps an enrichment on delivery to an endpoint with
 * `enrichmentsForEndpoint` (IoT Hub applies enrichments only on delivery, after route queries were evaluated).
 */
import { Type, type Static } from '@sinclair/typebox';
import { TributaryError } from '../../core/errors/index.ts';
import type { Headers } from '../../core/log/types.ts';
import type { TwinView } from './device-lookup.ts';

/** IoT Hub's limits: 10 enrichments per hub, keys up to 64 characters, values up to 128. */
export const MAX_ENRICHMENTS = 10;

export const EnrichmentSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[^$]', description: 'Application property the value is stamped as.' }),
    value: Type.String({ minLength: 1, maxLength: 128, description: 'A static string, `$iothubname`, or `$twin.tags.<path>` / `$twin.properties.desired.<path>` / `$twin.properties.reported.<path>`.' }),
    endpointNames: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }), { minItems: 1, description: 'Endpoints whose deliveries carry it; all endpoints when omitted.' })),
  },
  { additionalProperties: false },
);
export type EnrichmentConfig = Static<typeof EnrichmentSchema>;

/** Header on enriched records: JSON `{ "<enrichment name>": ["<endpoint>", …] }` for the endpoint-scoped ones. */
export const ENRICHMENT_ENDPOINTS_HEADER = 'tributary-enrichment-endpoints';

type Source =
  | { kind: 'static'; value: string }
  | { kind: 'hubName' }
  | { kind: 'twin'; section: 'tags' | 'desired' | 'reported'; path: string[] };

export interface CompiledEnrichment {
  name: string;
  source: Source;
  endpointNames?: string[];
}

const TWIN_PREFIXES: [string, 'tags' | 'desired' | 'reported'][] = [
  ['$twin.tags.', 'tags'],
  ['$twin.properties.desired.', 'desired'],
  ['$twin.properties.reported.', 'reported'],
];

/** Parses the configured values once at start-up; a `$` expression it does not know is a configuration error. */
export function compileEnrichments(configs: readonly EnrichmentConfig[]): CompiledEnrichment[] {
  const seen = new Set<string>();
  return configs.map((config, index) => {
    if (seen.has(config.name)) throw invalid(index, `name "${config.name}" is used twice; enrichment names must be unique`);
    seen.add(config.name);
    return { name: config.name, source: parseValue(config.value, index), ...(config.endpointNames ? { endpointNames: config.endpointNames } : {}) };
  });
}

function parseValue(value: string, index: number): Source {
  if (!value.startsWith('$')) return { kind: 'static', value };
  if (value === '$iothubname') return { kind: 'hubName' };
  for (const [prefix, section] of TWIN_PREFIXES) {
    if (!value.startsWith(prefix)) continue;
    const path = value.slice(prefix.length).split('.');
    if (path.some((part) => part === '')) throw invalid(index, `"${value}" has an empty path segment`);
    return { kind: 'twin', section, path };
  }
  throw invalid(index, `"${value}" is not a value enrichments support: use a static string (not starting with $), $iothubname, $twin.tags.<path>, $twin.properties.desired.<path> or $twin.properties.reported.<path>`);
}

function invalid(index: number, problem: string): TributaryError {
  return new TributaryError('ConfigInvalid', `invalid configuration for processor enrich: enrichments[${index}]: ${problem}`, { details: { component: 'processor enrich', index } });
}

/** The enrichment values for one message; twin paths that are missing (or null: a deleted property) are left out. */
export function applyEnrichments(enrichments: readonly CompiledEnrichment[], hubName: string, twin: TwinView | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name, source } of enrichments) {
    let value: unknown;
    if (source.kind === 'static') value = source.value;
    else if (source.kind === 'hubName') value = hubName;
    else if (twin) value = walk(source.section === 'tags' ? twin.tags : twin.properties[source.section], source.path);
    if (value === undefined || value === null) continue;
    out[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

function walk(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const part of path) {
    if (typeof node !== 'object' || node === null || Array.isArray(node) || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** The header value naming the endpoints of scoped enrichments, or undefined when none is scoped. */
export function endpointScopeHeader(enrichments: readonly CompiledEnrichment[]): string | undefined {
  const scoped = enrichments.filter((e) => e.endpointNames);
  return scoped.length === 0 ? undefined : JSON.stringify(Object.fromEntries(scoped.map((e) => [e.name, e.endpointNames])));
}

/** For the router: the scopes in an enriched record's header (enrichment name → endpoints), or undefined when none. */
export function enrichmentScopes(headers: Headers): Record<string, string[]> | undefined {
  const raw = headers[ENRICHMENT_ENDPOINTS_HEADER];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as Record<string, string[]>;
  } catch (err) {
    throw new TributaryError('ArgumentInvalid', `header ${ENRICHMENT_ENDPOINTS_HEADER} is not JSON; it is written by the enrich processor — check what else writes the topic`, { cause: err });
  }
}

/** The enrichments a delivery to `endpoint` carries: unscoped ones, and scoped ones that name the endpoint. */
export function scopeEnrichments(enrichments: Record<string, string> | undefined, scopes: Record<string, string[]> | undefined, endpoint: string): Record<string, string> {
  if (!enrichments) return {};
  if (!scopes) return { ...enrichments };
  return Object.fromEntries(Object.entries(enrichments).filter(([name]) => scopes[name]?.includes(endpoint) ?? true));
}

/** For the router: the enrichments a delivery to `endpoint` carries, given the enriched record's headers. */
export function enrichmentsForEndpoint(enrichments: Record<string, string> | undefined, headers: Headers, endpoint: string): Record<string, string> {
  return scopeEnrichments(enrichments, enrichmentScopes(headers), endpoint);
}
