import { TributaryError } from '../../core/errors/index.ts';

/**
 * Tokens of IoT Hub's twin query language ("IoT Hub query language for device and module twins, jobs, and message
 * routing", learn.microsoft.com/azure/iot-hub/iot-hub-devguide-query-language). Positions are 1-based character
 * columns so an error can point at the place in the query the caller typed.
 *
 * Separate from processors/router/query/tokenizer.ts on purpose: routing conditions have `$body`/`$twin` references and
 * no `*`, while twin queries need `SELECT *`, `$metadata`/`$version` path segments and errors that speak of
 * `POST /devices/query`, not of a route.
 */
export type Token =
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'number'; value: number; pos: number }
  /** A name: keyword, property or function (`$version`, `$metadata` included). */
  | { kind: 'ident'; value: string; pos: number }
  | { kind: 'op'; value: '=' | '!=' | '<>' | '<' | '<=' | '>' | '>='; pos: number }
  | { kind: 'punct'; value: '(' | ')' | '.' | '[' | ']' | ',' | '*' | '-'; pos: number }
  | { kind: 'end'; pos: number };

/** IoT Hub's limit on the query text ("Twin query limitations": 8192 characters). */
export const MAX_QUERY_LENGTH = 8192;

const SUPPORTED =
  'Supported: SELECT * | <property> [AS alias], … | COUNT() [AS alias] FROM devices | devices.modules [WHERE …] [GROUP BY …]; ' +
  '= != <> < > <= >=, AND, OR, NOT, IN [..], NIN [..], IS_DEFINED, IS_NULL, IS_STRING, IS_NUMBER, IS_BOOL, IS_OBJECT, ' +
  'IS_ARRAY, IS_PRIMITIVE, STARTSWITH, ENDSWITH, CONTAINS, LOWER, UPPER, LENGTH.';

export function queryError(query: string, pos: number, what: string): TributaryError {
  const shown = query.length > 200 ? `${query.slice(0, 200)}…` : query;
  return new TributaryError('ArgumentInvalid', `query, position ${pos}: ${what} (in "${shown}"). ${SUPPORTED}`, { details: { position: pos } });
}

const IDENT_START = /[\p{L}_$]/u;
const IDENT_PART = /[\p{L}\p{N}_$]/u;
const ESCAPES: Record<string, string> = { "'": "'", '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

export function tokenize(query: string): Token[] {
  if (query.length > MAX_QUERY_LENGTH) {
    throw queryError(query, MAX_QUERY_LENGTH + 1, `the query is ${query.length} characters long; IoT Hub allows at most ${MAX_QUERY_LENGTH}`);
  }
  const tokens: Token[] = [];
  let i = 0;
  const at = (k = 0) => query[i + k] ?? '';
  while (i < query.length) {
    const c = at();
    const pos = i + 1;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      // Single or double quotes; backslash escapes as the docs list them (\' \" \\ \uXXXX), plus SQL's doubled quote.
      let value = '';
      i++;
      for (;;) {
        if (i >= query.length) throw queryError(query, pos, 'string literal is not closed');
        const ch = at();
        if (ch === '\\') {
          const next = at(1);
          if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(query.slice(i + 2, i + 6))) {
            value += String.fromCharCode(parseInt(query.slice(i + 2, i + 6), 16));
            i += 6;
            continue;
          }
          const mapped = ESCAPES[next];
          if (mapped === undefined) throw queryError(query, i + 1, `unsupported escape \\${next}`);
          value += mapped;
          i += 2;
        } else if (ch === c && at(1) === c) {
          value += c;
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
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(at(1)))) {
      const hex = /^0[xX][0-9a-fA-F]+/.exec(query.slice(i));
      const match = hex ?? /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(query.slice(i));
      if (!match) throw queryError(query, pos, 'malformed number');
      i += match[0].length;
      if (IDENT_PART.test(at())) throw queryError(query, pos, `malformed number "${match[0]}${at()}"`);
      const value = Number(match[0]);
      if (!Number.isFinite(value)) throw queryError(query, pos, `number ${match[0]} is out of range`);
      tokens.push({ kind: 'number', value, pos });
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
    } else if (c === '-' && at(1) === '-') {
      throw queryError(query, pos, 'comments are not part of the query language');
    } else if ('().[],*-'.includes(c)) {
      tokens.push({ kind: 'punct', value: c as '(' | ')' | '.' | '[' | ']' | ',' | '*' | '-', pos });
      i++;
    } else if ('+/%|&;'.includes(c)) {
      throw queryError(query, pos, c === ';' ? "';' is not part of the query language (one query per request)" : `arithmetic and bitwise operators ('${c}') are not supported`);
    } else {
      throw queryError(query, pos, `unexpected character '${c}'`);
    }
  }
  tokens.push({ kind: 'end', pos: query.length + 1 });
  return tokens;
}
