/**
 * Keeps the settings table of each connector page (docs/connectors/<type>.md) in step with the connector's config
 * schema: the part between `<!-- settings:begin (… connectors/generate-docs.ts) -->` and `<!-- settings:end -->` is
 * rendered from the schema of the type registered in connectors/index.ts; the prose around it is written by hand.
 * One generator for every connector, so the tables read alike and a new connector only adds the markers to its page.
 * `node --import tsx connectors/generate-docs.ts` rewrites the tables; generate-docs.test.ts fails when one is stale.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { runDocGenerator, writeGeneratedDoc } from '../core/docs/generated-doc.ts';
import { connectorType, registeredConnectorTypes } from './index.ts';

export const CONNECTOR_DOCS_DIR = join(import.meta.dirname, '..', 'docs', 'connectors');
export const settingsBegin = (type: string) => `<!-- settings:begin (generated from the ${type} connector's configSchema by connectors/generate-docs.ts) -->`;
const END = '<!-- settings:end -->';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function typeOf(schema: TSchema): string {
  const s = schema as { anyOf?: { const?: unknown }[]; type?: string; items?: TSchema; minimum?: number; maximum?: number };
  if (s.anyOf) return s.anyOf.map((v) => `\`${JSON.stringify(v.const)}\``).join(' \\| ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  const bounds = s.minimum !== undefined || s.maximum !== undefined ? ` (${s.minimum ?? ''}–${s.maximum ?? ''})` : '';
  return `${s.type ?? 'any'}${bounds}`;
}

interface Row {
  path: string;
  schema: TSchema;
  required: boolean;
}

/** One row per setting; a nested section with fixed keys (storage's `s3`) gives one row per key, `s3.bucket`. */
export function settingRows(schema: TSchema, prefix = ''): Row[] {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  const required = new Set((schema as { required?: string[] }).required ?? []);
  return Object.entries(properties).flatMap(([key, child]) => {
    const path = `${prefix}${key}`;
    const c = child as { type?: string; properties?: unknown };
    if (c.type === 'object' && c.properties) return settingRows(child, `${path}.`);
    return [{ path, schema: child, required: required.has(key) }];
  });
}

export function renderSettingsTable(schema: TSchema): string {
  const lines = ['| Setting | Type | Default | Description |', '|---|---|---|---|'];
  for (const row of settingRows(schema)) {
    const s = row.schema as { default?: unknown; description?: string };
    const fallback = 'default' in s ? `\`${JSON.stringify(s.default)}\`` : row.required ? '*required*' : '*(absent)*';
    lines.push(`| \`${row.path}\` | ${typeOf(row.schema)} | ${cell(fallback)} | ${cell(s.description ?? '')} |`);
  }
  return lines.join('\n');
}

/** Pages this generator owns: docs/connectors/<type>.md of registered types that carry its begin marker. */
export function generatedPages(): Array<{ type: string; path: string }> {
  return registeredConnectorTypes()
    .map((type) => ({ type, path: join(CONNECTOR_DOCS_DIR, `${type}.md`) }))
    .filter(({ type, path }) => existsSync(path) && readFileSync(path, 'utf8').includes(settingsBegin(type)));
}

export function renderConnectorDoc(type: string, current: string): string {
  const definition = connectorType(type)?.definition;
  if (!definition) throw new Error(`no connector type ${type} is registered`);
  const begin = current.indexOf(settingsBegin(type));
  const end = current.indexOf(END, begin);
  if (begin === -1 || end === -1) throw new Error(`docs/connectors/${type}.md lacks the settings markers`);
  return `${current.slice(0, begin + settingsBegin(type).length)}\n${renderSettingsTable(definition.configSchema)}\n${current.slice(end)}`;
}

runDocGenerator(import.meta.url, CONNECTOR_DOCS_DIR, ({ check }) =>
  generatedPages().map(({ type, path }) => writeGeneratedDoc(path, renderConnectorDoc(type, readFileSync(path, 'utf8')), { check })).every(Boolean));
