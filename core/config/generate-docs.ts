/**
 * Writes docs/configuration.md from the config schema, so the reference can never disagree with what the loader
 * accepts. `node --import tsx core/config/generate-docs.ts` rewrites the file; `--check` exits 1 when it is stale.
 * load-config.test.ts fails on a stale committed file, as fastify's docs/codes sync test does for errors.
 */
import { join } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigSchema } from './schema.ts';
import { CONFIG_FILE_ENV, RESERVED_ENV_PREFIXES, SETTINGS, describeType } from './settings.ts';
import { runDocGenerator, writeGeneratedDoc } from '../docs/generated-doc.ts';

export const CONFIG_DOC_PATH = join(import.meta.dirname, '..', '..', 'docs', 'configuration.md');

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function formatDefault(schema: TSchema): string {
  if (!('default' in schema)) return '(absent)';
  const value: unknown = (schema as { default: unknown }).default;
  return `\`${Array.isArray(value) ? value.join(',') : String(value)}\``;
}

function sectionTable(rows: typeof SETTINGS): string[] {
  const lines = ['| Setting | Environment variable | Type | Default | Description |', '|---|---|---|---|---|'];
  for (const s of rows) {
    const description = (s.schema as { description?: string }).description ?? '';
    lines.push(`| \`${s.path}\` | \`${s.env}\` | ${cell(describeType(s.schema))} | ${cell(formatDefault(s.schema))} | ${cell(description)} |`);
  }
  return lines;
}

export function renderConfigurationDoc(): string {
  const out: string[] = [
    '# Configuration',
    '',
    '<!-- Generated from core/config/schema.ts by `node --import tsx core/config/generate-docs.ts`. Do not edit by hand. -->',
    '',
    'Tributary reads its configuration once at start-up from three sources, lowest to highest precedence:',
    '',
    '1. the defaults below;',
    `2. an optional JSON file: the path given on the command line, else the path in \`${CONFIG_FILE_ENV}\`;`,
    '3. environment variables: every setting has one, `TRIBUTARY_` followed by its path in upper snake case',
    '   (`schemaRegistry.url` → `TRIBUTARY_SCHEMA_REGISTRY_URL`). An empty variable counts as unset.',
    '',
    'Environment values are parsed by the setting\'s type: numbers as numbers, booleans from `true`/`false`/`1`/`0`/',
    '`yes`/`no`, lists as comma-separated values (`TRIBUTARY_KAFKA_BROKERS=k1:9092,k2:9092`).',
    '',
    'Every problem is reported at once, with the setting\'s path and where the value came from, and the hub does not',
    'start (error code `ConfigInvalid`), e.g. `kafka.brokers[1]: expected host:port, got "x" (from TRIBUTARY_KAFKA_BROKERS)`.',
    'Unknown keys in the file and unknown `TRIBUTARY_*` variables are errors too, with the closest known name suggested',
    `— except variables starting with ${RESERVED_ENV_PREFIXES.map((p) => `\`${p}\``).join(' or ')}, which belong to the`,
    'infra/ scripts and the test harness.',
    '',
    'Settings marked *(absent)* have no default: leaving them out selects the embedded, single-process alternative',
    'described, so `npm start` needs no configuration at all.',
  ];

  const topLevel = SETTINGS.filter((s) => !s.path.includes('.'));
  out.push('', '## General', '', ...sectionTable(topLevel));
  const properties = (ConfigSchema as { properties: Record<string, TSchema> }).properties;
  for (const [key, schema] of Object.entries(properties)) {
    const rows = SETTINGS.filter((s) => s.path.startsWith(`${key}.`));
    if (rows.length === 0) continue;
    const title = (schema as { description?: string }).description ?? '';
    out.push('', `## \`${key}\``, '', title, '', ...sectionTable(rows));
  }

  out.push(
    '',
    '## Example file',
    '',
    'Every default, as a file would spell it (settings without a default are left out):',
    '',
    '```json',
    JSON.stringify(Value.Default(ConfigSchema, {}), null, 2),
    '```',
    '',
  );
  return out.join('\n');
}

/** Writes the doc (or, with check, only compares); returns whether the file on disk was already current. */
export function writeConfigurationDoc(options: { check?: boolean; path?: string } = {}): boolean {
  return writeGeneratedDoc(options.path ?? CONFIG_DOC_PATH, renderConfigurationDoc(), options);
}

runDocGenerator(import.meta.url, CONFIG_DOC_PATH, writeConfigurationDoc);
