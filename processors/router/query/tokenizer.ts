import { TributaryError } from '../../../core/errors/index.ts';

/**
 * Tokens of IoT Hub's routing-query language (learn.microsoft.com/azure/iot-hub/iot-hub-devguide-routing-query-syntax).
 * Positions are 1-based character columns, so an error can point at the exact place in the query the operator typed.
 */
export type Token =
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'number'; value: number; pos: number }
  /** `$body`, `$twin`, `$connectionDeviceId`, `$iothub-enqueuedtime` (name without the `$`). */
  | { kind: 'system'; value: string; pos: number }
  | { kind: 'ident'; value: string; pos: number }
  | { kind: 'op'; value: '=' | '!=' | '<>' | '<' | '<=' | '>' | '>='; pos: number }
  | { kind: 'punct'; value: '(' | ')' | '.' | '[' | ']' | ','; pos: number }
  | { kind: 'end'; pos: number };

export function queryError(query: string, pos: number, what: string): TributaryError {
  return new TributaryError('ArgumentInvalid', `routing query, position ${pos}: ${what} (in "${query}"). Fix the route's condition (supported: comparisons, AND, OR, NOT, parentheses, IoT Hub's routing functions such as IS_DEFINED, LENGTH, STARTS_WITH).`);
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
/** System property names may contain '-' (`$iothub-enqueuedtime`, `$dt-dataschema`). */
const SYSTEM_PART = /[A-Za-z0-9_-]/;

export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const at = (k = 0) => query[i + k] ?? '';
  while (i < query.length) {
    const c = at();
    const pos = i + 1;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= query.length) throw queryError(query, pos, 'string literal is not closed');
        const ch = at();
        if (ch === '\\') {
          const next = at(1);
          const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };
          const mapped = escapes[next];
          if (mapped === undefined) throw queryError(query, i + 1, `unsupported escape \\${next}`);
          value += mapped;
          i += 2;
        } else if (ch === c && at(1) === c) {
          value += c; // SQL style doubled quote
          i += 2;
        } else if (ch === c) {
          i++;
          break;
        } else {
          value += ch;
          i++;
        }
      }
      tokens.push({ kind: 'string', value, pos });
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9.]/.test(at(1)) && !isValueEnd(tokens.at(-1)))) {
      const match = /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(query.slice(i));
      if (!match) throw queryError(query, pos, 'malformed number');
      i += match[0].length;
      if (IDENT_START.test(at())) throw queryError(query, pos, `malformed number "${match[0]}${at()}"`);
      tokens.push({ kind: 'number', value: Number(match[0]), pos });
    } else if (c === '$') {
      let j = i + 1;
      while (j < query.length && SYSTEM_PART.test(query[j]!)) j++;
      if (j === i + 1) throw queryError(query, pos, "'$' must be followed by a property name");
      tokens.push({ kind: 'system', value: query.slice(i + 1, j), pos });
      i = j;
    } else if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < query.length && IDENT_PART.test(query[j]!)) j++;
      tokens.push({ kind: 'ident', value: query.slice(i, j), pos });
      i = j;
    } else if (c === '<' || c === '>' || c === '!' || c === '=') {
      const two = c + at(1);
      if (two === '<=' || two === '>=' || two === '!=' || two === '<>') {
        tokens.push({ kind: 'op', value: two, pos });
        i += 2;
      } else if (c === '!') {
        throw queryError(query, pos, "'!' alone is not an operator; use NOT or !=");
      } else if (two === '==') {
        throw queryError(query, pos, "'==' is not an operator; use =");
      } else {
        tokens.push({ kind: 'op', value: c as '=' | '<' | '>', pos });
        i++;
      }
    } else if (c === '(' || c === ')' || c === '.' || c === '[' || c === ']' || c === ',') {
      tokens.push({ kind: 'punct', value: c, pos });
      i++;
    } else if ('+-*/%|&'.includes(c)) {
      throw queryError(query, pos, `arithmetic and bitwise operators ('${c}') are not supported`);
    } else {
      throw queryError(query, pos, `unexpected character '${c}'`);
    }
  }
  tokens.push({ kind: 'end', pos: query.length + 1 });
  return tokens;
}

/** After a value a '-' is subtraction (refused), not the sign of a number. */
function isValueEnd(token: Token | undefined): boolean {
  if (!token) return false;
  return token.kind === 'string' || token.kind === 'number' || token.kind === 'system' || token.kind === 'ident' || (token.kind === 'punct' && (token.value === ')' || token.value === ']'));
}
