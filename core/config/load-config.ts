import { readFileSync } from 'node:fs';
import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { TributaryError } from '../errors/index.ts';
import { ConfigSchema, type Config } from './schema.ts';
import {
  CONFIG_FILE_ENV, ENV_PREFIX, KNOWN_PATHS, RESERVED_ENV_PREFIXES, SETTINGS, closest, describeType, isSection, parseEnvValue,
} from './settings.ts';

/**
 * Loads the configuration from, lowest to highest precedence: the schema's defaults, an optional JSON file
 * (`file`, else `TRIBUTARY_CONFIG`), and `TRIBUTARY_*` environment variables. Every problem is collected and thrown
 * at once as one ConfigInvalid, so an operator fixes the whole file in one go instead of one error per restart.
 * Pure apart from reading the file: pass `env` (and a parsed `file` object) in tests.
 */
export interface LoadConfigOptions {
  /** The environment to read `TRIBUTARY_*` from; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** A JSON file path, or an already parsed document. Defaults to the path in TRIBUTARY_CONFIG, if set. */
  file?: string | Readonly<Record<string, unknown>>;
}

type Doc = Record<string, unknown>;

const isObject = (value: unknown): value is Doc => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Values are echoed in messages; never echo a password embedded in a URL. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  const redacted = text.replace(/(\/\/[^:/@\s"]+:)[^@\s"]+@/g, '$1***@');
  return redacted.length > 120 ? `${redacted.slice(0, 117)}…` : redacted;
}

/** `/kafka/brokers/1` → `kafka.brokers[1]` (JSON pointer to the dotted form used in the docs). */
export function pointerToPath(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(part) ? `[${part}]` : path === '' ? part : `.${part}`;
  }
  return path;
}

function readFile(path: string, problems: string[]): Doc | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    problems.push(`config file ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); fix ${CONFIG_FILE_ENV} or the path`);
    return undefined;
  }
  try {
    const doc: unknown = JSON.parse(text);
    if (isObject(doc)) return doc;
    problems.push(`config file ${path}: expected a JSON object at the top level, got ${show(doc)}`);
  } catch (err) {
    problems.push(`config file ${path}: not valid JSON (${(err as Error).message})`);
  }
  return undefined;
}

/** Reports and removes keys the schema does not know, suggesting the closest known name. */
function dropUnknownKeys(doc: Doc, schema: TSchema, prefix: string, source: string, problems: string[]): void {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  for (const key of Object.keys(doc)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const child = properties[key];
    if (child === undefined) {
      const guess = closest(path, KNOWN_PATHS);
      const hint = guess !== undefined ? `did you mean "${guess}"?` : `known here: ${Object.keys(properties).join(', ')}`;
      problems.push(`${path}: unknown setting in ${source}; ${hint}`);
      delete doc[key];
    } else if (isSection(child) && isObject(doc[key])) {
      dropUnknownKeys(doc[key], child, path, source, problems);
    }
  }
}

function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = doc;
  for (const part of parts.slice(0, -1)) {
    if (!isObject(node[part])) node[part] = {};
    node = node[part] as Doc;
  }
  node[parts.at(-1) ?? path] = value;
}

function explain(type: ValueErrorType, schema: TSchema, value: unknown): string {
  const s = schema as { minItems?: number };
  if (type === ValueErrorType.ArrayUniqueItems) return `expected no duplicates, got ${show(value)}`;
  if (type === ValueErrorType.ArrayMinItems) return `expected at least ${s.minItems ?? 1} item(s), got ${show(value)}`;
  return `expected ${describeType(schema)}, got ${show(value)}`;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const problems: string[] = [];

  // 1. The file (optional).
  const filePath = typeof options.file === 'string' ? options.file : options.file === undefined ? env[CONFIG_FILE_ENV] || undefined : undefined;
  const source = filePath ?? 'the config document';
  let doc: Doc = {};
  if (filePath !== undefined) doc = readFile(filePath, problems) ?? {};
  else if (isObject(options.file)) doc = structuredClone(options.file) as Doc;
  dropUnknownKeys(doc, ConfigSchema, '', source, problems);
  const origin = new Map<string, string>();
  for (const s of SETTINGS) origin.set(s.path, source);

  // 2. Environment variables override the file, setting by setting. Empty means unset (handy in compose files).
  const known = new Set(SETTINGS.map((s) => s.env));
  for (const setting of SETTINGS) {
    const raw = env[setting.env];
    if (raw === undefined || raw.trim() === '') continue;
    setPath(doc, setting.path, parseEnvValue(setting.schema, raw));
    origin.set(setting.path, setting.env);
  }
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX) || name === CONFIG_FILE_ENV || known.has(name)) continue;
    if (RESERVED_ENV_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    const guess = closest(name, [...known, CONFIG_FILE_ENV]);
    problems.push(`${name}: unknown environment variable; ${guess ? `did you mean ${guess}?` : 'see docs/configuration.md for the settings'}`);
  }

  // 3. Defaults fill what neither gave, then the schema checks everything.
  const value: unknown = Value.Default(ConfigSchema, doc);
  const seen = new Set<string>();
  for (const error of Value.Errors(ConfigSchema, value)) {
    const path = pointerToPath(error.path);
    if (seen.has(path)) continue;
    seen.add(path);
    const setting = SETTINGS.find((s) => path === s.path || path.startsWith(`${s.path}[`));
    // Errors above the settings (a section that is not an object) can only have come from the file.
    const from = setting ? origin.get(setting.path) : Object.keys(doc).length > 0 ? source : undefined;
    problems.push(`${path || '(top level)'}: ${explain(error.type, error.schema, error.value)}${from ? ` (from ${from})` : ''}`);
  }

  if (problems.length > 0) {
    throw new TributaryError(
      'ConfigInvalid',
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}; see docs/configuration.md):\n  ${problems.join('\n  ')}`,
      { details: { problems } },
    );
  }
  return deepFreeze(value as Config);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
