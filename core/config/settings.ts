import { Kind, OptionalKind, type TSchema } from '@sinclair/typebox';
import { ConfigSchema, expectedOf } from './schema.ts';

/**
 * The schema seen as a flat list of settings (the leaves: everything that is not a section), each with the
 * environment variable derived from its path. load-config.ts and generate-docs.ts both read this list, so the env
 * names in the docs are the ones the loader accepts.
 */
export interface Setting {
  /** Dotted path in the config file: `schemaRegistry.url`. */
  readonly path: string;
  /** `TRIBUTARY_` + the path in upper snake case: `TRIBUTARY_SCHEMA_REGISTRY_URL`. */
  readonly env: string;
  readonly schema: TSchema;
  /** No default: absent means the feature falls back (embedded log, PGlite, …) as its description says. */
  readonly optional: boolean;
}

export const ENV_PREFIX = 'TRIBUTARY_';
/** Points at the JSON config file; not a setting itself. */
export const CONFIG_FILE_ENV = 'TRIBUTARY_CONFIG';
/** Variables under these prefixes belong to infra/ scripts and the test harness, not to the hub's configuration. */
export const RESERVED_ENV_PREFIXES = ['TRIBUTARY_INFRA_', 'TRIBUTARY_TEST'] as const;

type Schema = TSchema & { [Kind]?: string; [OptionalKind]?: string };

export const kindOf = (schema: TSchema): string | undefined => (schema as Schema)[Kind];
const isOptional = (schema: TSchema): boolean => (schema as Schema)[OptionalKind] === 'Optional';

export function isSection(schema: TSchema): boolean {
  return kindOf(schema) === 'Object';
}

/** `schemaRegistry.url` → `TRIBUTARY_SCHEMA_REGISTRY_URL`. */
export function envVarName(path: string): string {
  return ENV_PREFIX + path.split('.').map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

function collect(schema: TSchema, prefix: string, out: Setting[]): Setting[] {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  for (const [key, child] of Object.entries(properties)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (isSection(child)) collect(child, path, out);
    else out.push({ path, env: envVarName(path), schema: child, optional: isOptional(child) && !('default' in child) });
  }
  return out;
}

export const SETTINGS: readonly Setting[] = collect(ConfigSchema, '', []);

/** Every section and setting path, for "did you mean" suggestions. */
export const KNOWN_PATHS: readonly string[] = (() => {
  const sections = new Set<string>();
  for (const s of SETTINGS) {
    const parts = s.path.split('.');
    for (let i = 1; i < parts.length; i++) sections.add(parts.slice(0, i).join('.'));
  }
  return [...sections, ...SETTINGS.map((s) => s.path)];
})();

function literals(schema: TSchema): unknown[] | undefined {
  if (kindOf(schema) !== 'Union') return undefined;
  const anyOf = (schema as { anyOf?: TSchema[] }).anyOf ?? [];
  if (!anyOf.every((s) => kindOf(s) === 'Literal')) return undefined;
  return anyOf.map((s) => (s as { const?: unknown }).const);
}

/** What a value must look like, in words: the `expected …` of error messages and the docs' type column. */
export function describeType(schema: TSchema): string {
  const expected = expectedOf(schema);
  if (expected !== undefined) return expected;
  const s = schema as { minLength?: number; minimum?: number; maximum?: number; items?: TSchema; const?: unknown };
  const consts = literals(schema);
  if (consts !== undefined) return `one of ${consts.map((c) => JSON.stringify(c)).join(', ')}`;
  switch (kindOf(schema)) {
    case 'Literal': return JSON.stringify(s.const);
    case 'String': return (s.minLength ?? 0) > 0 ? 'a non-empty string' : 'a string';
    case 'Integer':
    case 'Number': {
      const noun = kindOf(schema) === 'Integer' ? 'an integer' : 'a number';
      if (s.minimum !== undefined && s.maximum !== undefined) return `${noun} from ${s.minimum} to ${s.maximum}`;
      return noun;
    }
    case 'Boolean': return 'true or false';
    case 'Array': {
      const items = s.items === undefined ? 'values' : describeType(s.items);
      const itemConsts = s.items === undefined ? undefined : literals(s.items);
      return itemConsts ? `a list of ${itemConsts.map((c) => JSON.stringify(c)).join(', ')}` : `a list of ${items}`;
    }
    case 'Object': return 'an object';
    default: return 'a valid value';
  }
}

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, yes: true, no: false, on: true, off: false };

/**
 * Turns an environment variable's text into the setting's type. Text that does not parse is returned unchanged, so
 * validation reports it with the setting's path (`ports.https: expected a port number 0–65535, got "https"`).
 */
export function parseEnvValue(schema: TSchema, raw: string): unknown {
  const text = raw.trim();
  switch (kindOf(schema)) {
    case 'Integer':
    case 'Number':
      return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : raw;
    case 'Boolean': {
      const word = BOOLEAN_WORDS[text.toLowerCase()];
      return word ?? raw;
    }
    case 'Array': {
      const items = (schema as { items?: TSchema }).items;
      const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
      return items === undefined ? parts : parts.map((p) => parseEnvValue(items, p));
    }
    default:
      return text;
  }
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The candidate closest to `name` (case-insensitive edit distance), if it is close enough to be a likely typo. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
