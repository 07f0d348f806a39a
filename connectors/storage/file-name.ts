/**
 * File names: IoT Hub's fileNameFormat tokens (RoutingStorageContainerProperties.fileNameFormat: "All parameters are
 * mandatory but can be reordered"), rendered from the batch itself, plus a suffix that makes the name a function of
 * the file's content: `-<endpoint>-<offset of its first message>`. Writing the same messages again therefore writes
 * the same name, and the new file replaces the old one instead of adding a copy.
 */
import { TributaryError } from '../../core/errors/index.ts';

export const REQUIRED_TOKENS = ['iothub', 'partition', 'YYYY', 'MM', 'DD', 'HH', 'mm'] as const;
type Token = (typeof REQUIRED_TOKENS)[number];

export interface FileNameParts {
  hub: string;
  partition: number;
  /** Milliseconds since the epoch; the tokens are its UTC date and time. */
  time: number;
  /** Names the endpoint topic, so several endpoints can share one directory or bucket. */
  endpoint: string;
  /** Offset of the file's first message in the endpoint topic partition. */
  firstOffset: number;
}

export type FileNamer = (parts: FileNameParts) => string;

/** Literal text may only hold characters that are safe and unescaped in file paths and S3 keys alike. */
const LITERAL = /^[A-Za-z0-9/._=-]*$/;
/** Offsets are padded so that listing a directory or bucket returns a partition's files in offset order. */
const OFFSET_DIGITS = 20;

/** Validates `format` once (at start-up) and returns the function that names files. */
export function compileFileName(format: string, extension: string): FileNamer {
  const fail: (problem: string) => never = (problem) => {
    throw new TributaryError('ConfigInvalid', `connector storage: fileNameFormat "${format}" ${problem}`);
  };
  const pieces: ({ text: string } | { token: Token })[] = [];
  const seen = new Set<string>();
  let rest = format;
  while (rest.length > 0) {
    const open = rest.indexOf('{');
    const literal = open === -1 ? rest : rest.slice(0, open);
    if (!LITERAL.test(literal)) fail(`has "${literal}": text between tokens may only use letters, digits and / . _ - =`);
    if (literal) pieces.push({ text: literal });
    if (open === -1) break;
    const close = rest.indexOf('}', open);
    if (close === -1) fail('has a "{" without "}"');
    const token = rest.slice(open + 1, close);
    if (!isToken(token)) fail(`has an unknown token {${token}}; the tokens are ${REQUIRED_TOKENS.map((t) => `{${t}}`).join(' ')}`);
    seen.add(token);
    pieces.push({ token });
    rest = rest.slice(close + 1);
  }
  const missing = REQUIRED_TOKENS.filter((t) => !seen.has(t));
  if (missing.length > 0) fail(`lacks ${missing.map((t) => `{${t}}`).join(', ')}; as in IoT Hub, every token must appear (in any order)`);
  if (format.startsWith('/') || format.endsWith('/')) fail('must not start or end with "/"');
  if (format.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) fail('has an empty, "." or ".." path segment');

  return (parts) => {
    const date = new Date(parts.time);
    const values: Record<Token, string> = {
      iothub: parts.hub,
      partition: String(parts.partition),
      YYYY: String(date.getUTCFullYear()).padStart(4, '0'),
      MM: pad2(date.getUTCMonth() + 1),
      DD: pad2(date.getUTCDate()),
      HH: pad2(date.getUTCHours()),
      mm: pad2(date.getUTCMinutes()),
    };
    const base = pieces.map((p) => ('text' in p ? p.text : values[p.token])).join('');
    return `${base}-${parts.endpoint}-${String(parts.firstOffset).padStart(OFFSET_DIGITS, '0')}${extension}`;
  };
}

function isToken(text: string): text is Token {
  return (REQUIRED_TOKENS as readonly string[]).includes(text);
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** `iot.route.<endpoint>` → `<endpoint>`; any other topic names itself. Both only use [A-Za-z0-9._-]. */
export function endpointOfTopic(topic: string): string {
  return topic.startsWith('iot.route.') ? topic.slice('iot.route.'.length) : topic;
}
