/**
 * Keeps the settings table of docs/connectors/storage.md in step with StorageConfigSchema: the part between the
 * `settings:begin` / `settings:end` markers is rendered from the schema, the prose around it is written by hand.
 * `node --import tsx connectors/storage/generate-docs.ts` rewrites it; generate-docs.test.ts fails when it is stale.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { runDocGenerator, writeGeneratedDoc } from '../../core/docs/generated-doc.ts';
import { StorageConfigSchema } from './config.ts';

export const STORAGE_DOC_PATH = join(import.meta.dirname, '..', '..', 'docs', 'connectors', 'storage.md');
const BEGIN = '<!-- settings:begin (generated from connectors/storage/config.ts by connectors/storage/generate-docs.ts) -->';
const END = '<!-- settings:end -->';

interface Row {
  path: string;
  schema: TSchema;
  required: boolean;
}

function rows(schema: TSchema, prefix = ''): Row[] {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  const required = new Set((schema as { required?: string[] }).required ?? []);
  return Object.entries(properties).flatMap(([key, child]) => {
    const path = `${prefix}${key}`;
    if ((child as { type?: string }).type === 'object' && (child as { properties?: unknown }).properties) return rows(child, `${path}.`);
    return [{ path, schema: child, required: required.has(key) }];
  });
}

function typeOf(schema: TSchema): string {
  const union = (schema as { anyOf?: { const?: unknown }[] }).anyOf;
  if (union) return union.map((s) => `\`${JSON.stringify(s.const)}\``).join(' \\| ');
  const s = schema as { type?: string; minimum?: number; maximum?: number };
  const bounds = s.minimum !== undefined || s.maximum !== undefined ? ` (${s.minimum ?? ''}–${s.maximum ?? ''})` : '';
  return `${s.type ?? 'any'}${bounds}`;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderSettings(): string {
  const lines = ['| Setting | Type | Default | Description |', '|---|---|---|---|'];
  for (const row of rows(StorageConfigSchema)) {
    const schema = row.schema as { default?: unknown; description?: string };
    const fallback = 'default' in schema ? `\`${JSON.stringify(schema.default)}\`` : row.required ? '*required*' : '*(absent)*';
    lines.push(`| \`${row.path}\` | ${typeOf(row.schema)} | ${cell(fallback)} | ${cell(schema.description ?? '')} |`);
  }
  return lines.join('\n');
}

/** The committed page with its settings section re-rendered. */
export function renderStorageDoc(current = readFileSync(STORAGE_DOC_PATH, 'utf8')): string {
  const begin = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  if (begin === -1 || end < begin) throw new Error(`${STORAGE_DOC_PATH} lacks the ${BEGIN} … ${END} markers`);
  return `${current.slice(0, begin + BEGIN.length)}\n${renderSettings()}\n${current.slice(end)}`;
}

runDocGenerator(import.meta.url, STORAGE_DOC_PATH, ({ check }) => writeGeneratedDoc(STORAGE_DOC_PATH, renderStorageDoc(), { check }));
