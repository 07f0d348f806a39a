/**
 * Keeps the settings table of docs/connectors/rabbitmq.md in step with RabbitMqConfigSchema: the part between the
 * `settings:begin` / `settings:end` markers is rendered from the schema, the prose around it is written by hand.
 * `node --import tsx connectors/rabbitmq/generate-docs.ts` rewrites it; generate-docs.test.ts fails when it is stale.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { runDocGenerator, writeGeneratedDoc } from '../../core/docs/generated-doc.ts';
import { RabbitMqConfigSchema } from './config.ts';

export const RABBITMQ_DOC_PATH = join(import.meta.dirname, '..', '..', 'docs', 'connectors', 'rabbitmq.md');
const BEGIN = '<!-- settings:begin (generated from connectors/rabbitmq/config.ts by connectors/rabbitmq/generate-docs.ts) -->';
const END = '<!-- settings:end -->';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function typeOf(schema: TSchema): string {
  const s = schema as { anyOf?: { const?: unknown }[]; type?: string; minimum?: number; maximum?: number; maxLength?: number };
  if (s.anyOf) return s.anyOf.map((v) => `\`${JSON.stringify(v.const)}\``).join(' \\| ');
  if (s.type === 'object') return 'object';
  const bounds = s.minimum !== undefined || s.maximum !== undefined ? ` (${s.minimum ?? ''}–${s.maximum ?? ''})` : '';
  return `${s.type ?? 'any'}${bounds}`;
}

export function renderSettings(schema: TSchema = RabbitMqConfigSchema): string {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  const required = new Set((schema as { required?: string[] }).required ?? []);
  const lines = ['| Setting | Type | Default | Description |', '|---|---|---|---|'];
  for (const [key, child] of Object.entries(properties)) {
    const s = child as { default?: unknown; description?: string };
    const fallback = 'default' in s ? `\`${JSON.stringify(s.default)}\`` : required.has(key) ? '*required*' : '*(absent)*';
    lines.push(`| \`${key}\` | ${typeOf(child)} | ${cell(fallback)} | ${cell(s.description ?? '')} |`);
  }
  return lines.join('\n');
}

/** The committed page with its settings section re-rendered. */
export function renderRabbitMqDoc(current = readFileSync(RABBITMQ_DOC_PATH, 'utf8')): string {
  const begin = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  if (begin === -1 || end < begin) throw new Error(`${RABBITMQ_DOC_PATH} lacks the ${BEGIN} … ${END} markers`);
  return `${current.slice(0, begin + BEGIN.length)}\n${renderSettings()}\n${current.slice(end)}`;
}

runDocGenerator(import.meta.url, RABBITMQ_DOC_PATH, ({ check }) => writeGeneratedDoc(RABBITMQ_DOC_PATH, renderRabbitMqDoc(), { check }));
