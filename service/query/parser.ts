import { queryError, tokenize, type Token } from './tokenizer.ts';

/**
 * Recursive-descent parser for IoT Hub's twin query language (iot-hub-devguide-query-language, "Basics of an IoT Hub
 * query", "SELECT clause", "Expressions and conditions"):
 *
 *   query       := SELECT [TOP n] select FROM collection [WHERE or] [GROUP BY path (',' path)*]
 *   select      := '*' | projection (',' projection)*
 *   projection  := (path | aggregate) [AS name]
 *   aggregate   := COUNT '(' ')' | (SUM | AVG | MIN | MAX) '(' path ')'
 *   collection  := devices | devices.modules
 *   or          := and (OR and)*
 *   and         := not (AND not)*
 *   not         := NOT not | predicate
 *   predicate   := operand [compareOp operand | [NOT] IN array | NIN array]
 *   operand     := literal | '-' number | path | call | '(' or ')'
 *   path        := name ('.' name | '[' ('string' | number) ']')*
 *   array       := '[' [literal (',' literal)*] ']'
 *
 * Arithmetic, object constants, sub-queries, joins and ORDER BY are refused with the position of the offending token.
 */
export type Literal = string | number | boolean | null;
export type Segment = string | number;
export interface Path { kind: 'path'; segments: Segment[]; pos: number }
export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Expr =
  | { kind: 'literal'; value: Literal; pos: number }
  | Path
  | { kind: 'call'; name: string; args: Expr[]; pos: number }
  | { kind: 'compare'; op: CompareOp; left: Expr; right: Expr; pos: number }
  | { kind: 'in'; negated: boolean; left: Expr; items: Literal[]; pos: number }
  | { kind: 'and' | 'or'; left: Expr; right: Expr; pos: number }
  | { kind: 'not'; item: Expr; pos: number };

export type AggregateName = 'COUNT' | 'SUM' | 'AVG' | 'MIN' | 'MAX';
export type Projection =
  | { kind: 'path'; path: Path; alias?: string; pos: number }
  | { kind: 'aggregate'; name: AggregateName; arg?: Path; alias?: string; pos: number };

export type Collection = 'devices' | 'devices.modules';

export interface TwinQuery {
  top?: number;
  /** '*' selects whole twin documents. */
  select: '*' | Projection[];
  from: Collection;
  where?: Expr;
  groupBy: Path[];
}

const RESERVED = new Set(['select', 'top', 'from', 'where', 'group', 'by', 'as', 'and', 'or', 'not', 'in', 'nin', 'true', 'false', 'null', 'order', 'join']);
const AGGREGATES = new Set<string>(['COUNT', 'SUM', 'AVG', 'MIN', 'MAX']);
/** Largest TOP accepted; beyond it the caller pages instead (x-ms-continuation). */
export const MAX_TOP = 1_000_000;

export function parseTwinQuery(query: string): TwinQuery {
  if (query.trim() === '') throw queryError(query, 1, 'the query is empty; start with SELECT * FROM devices');
  const tokens = tokenize(query);
  let index = 0;
  const peek = (k = 0): Token => tokens[Math.min(index + k, tokens.length - 1)]!;
  const next = (): Token => tokens[Math.min(index++, tokens.length - 1)]!;
  const isWord = (t: Token, word: string) => t.kind === 'ident' && t.value.toLowerCase() === word;
  const isPunct = (t: Token, p: string) => t.kind === 'punct' && t.value === p;
  const describe = (t: Token) => (t.kind === 'end' ? 'the end of the query' : t.kind === 'string' ? `'${t.value}'` : `"${String(t.value)}"`);
  const fail = (t: Token, what: string) => queryError(query, t.pos, what);
  const expectPunct = (p: string, what: string) => {
    const t = next();
    if (!isPunct(t, p)) throw fail(t, `expected '${p}' ${what}, found ${describe(t)}`);
  };
  const expectWord = (word: string, what: string) => {
    const t = next();
    if (!isWord(t, word)) throw fail(t, `expected ${word.toUpperCase()} ${what}, found ${describe(t)}`);
  };

  function parsePath(): Path {
    const first = next();
    if (first.kind !== 'ident' || RESERVED.has(first.value.toLowerCase())) throw fail(first, `expected a property name, found ${describe(first)}`);
    const segments: Segment[] = [first.value];
    for (;;) {
      if (isPunct(peek(), '.')) {
        next();
        const name = next();
        if (name.kind !== 'ident') throw fail(name, `expected a property name after '.', found ${describe(name)}`);
        segments.push(name.value);
      } else if (isPunct(peek(), '[')) {
        next();
        const key = next();
        if (key.kind === 'string') segments.push(key.value);
        else if (key.kind === 'number' && Number.isInteger(key.value) && key.value >= 0) segments.push(key.value);
        else throw fail(key, `expected a quoted property name or an array index inside [ ], found ${describe(key)}`);
        expectPunct(']', 'to close the property index');
      } else {
        return { kind: 'path', segments, pos: first.pos };
      }
    }
  }

  function parseLiteral(): Literal {
    const t = next();
    if (t.kind === 'string' || t.kind === 'number') return t.value;
    if (isPunct(t, '-') && peek().kind === 'number') return -(next() as { value: number }).value;
    if (isWord(t, 'true')) return true;
    if (isWord(t, 'false')) return false;
    if (isWord(t, 'null')) return null;
    throw fail(t, `expected a constant (string, number, true, false or null), found ${describe(t)}`);
  }

  function parseArray(): Literal[] {
    expectPunct('[', 'to start the list of IN/NIN');
    const items: Literal[] = [];
    if (isPunct(peek(), ']')) {
      next();
      return items;
    }
    for (;;) {
      items.push(parseLiteral());
      const t = next();
      if (isPunct(t, ']')) return items;
      if (!isPunct(t, ',')) throw fail(t, `expected ',' or ']' in the list, found ${describe(t)}`);
    }
  }

  function parseOperand(): Expr {
    const t = peek();
    if (t.kind === 'string' || t.kind === 'number') {
      next();
      return { kind: 'literal', value: t.value, pos: t.pos };
    }
    if (isPunct(t, '-')) {
      next();
      const n = next();
      if (n.kind !== 'number') throw fail(t, "arithmetic is not supported; '-' may only precede a number");
      return { kind: 'literal', value: -n.value, pos: t.pos };
    }
    if (isWord(t, 'true') || isWord(t, 'false') || isWord(t, 'null')) {
      next();
      return { kind: 'literal', value: isWord(t, 'null') ? null : isWord(t, 'true'), pos: t.pos };
    }
    if (isPunct(t, '(')) {
      next();
      const inner = parseOr();
      expectPunct(')', 'to close the parenthesis');
      return inner;
    }
    if (isPunct(t, '[')) throw fail(t, 'an array constant may only follow IN or NIN');
    if (t.kind === 'ident' && !RESERVED.has(t.value.toLowerCase()) && isPunct(peek(1), '(')) {
      next();
      next();
      const name = t.value.toUpperCase();
      if (AGGREGATES.has(name)) throw fail(t, `${name}() is an aggregate; use it in SELECT, not in a condition`);
      const args: Expr[] = [];
      if (!isPunct(peek(), ')')) {
        for (;;) {
          args.push(parseOr());
          const sep = next();
          if (isPunct(sep, ')')) break;
          if (!isPunct(sep, ',')) throw fail(sep, `expected ',' or ')' in the arguments of ${name}, found ${describe(sep)}`);
        }
      } else {
        next();
      }
      return { kind: 'call', name, args, pos: t.pos };
    }
    if (t.kind === 'ident' && !RESERVED.has(t.value.toLowerCase())) return parsePath();
    throw fail(t, `expected a property, constant or function, found ${describe(t)}`);
  }

  function parsePredicate(): Expr {
    const left = parseOperand();
    const t = peek();
    if (t.kind === 'op') {
      next();
      const op: CompareOp = t.value === '<>' ? '!=' : t.value;
      const right = parseOperand();
      const after = peek();
      if (after.kind === 'punct' && (after.value === '*' || after.value === '-')) throw fail(after, `arithmetic operators ('${after.value}') are not supported`);
      return { kind: 'compare', op, left, right, pos: t.pos };
    }
    if (isWord(t, 'in') || isWord(t, 'nin')) {
      next();
      return { kind: 'in', negated: isWord(t, 'nin'), left, items: parseArray(), pos: t.pos };
    }
    if (isWord(t, 'not') && isWord(peek(1), 'in')) {
      next();
      next();
      return { kind: 'in', negated: true, left, items: parseArray(), pos: t.pos };
    }
    if (t.kind === 'punct' && (t.value === '*' || t.value === '-')) throw fail(t, `arithmetic operators ('${t.value}') are not supported`);
    return left;
  }

  function parseNot(): Expr {
    const t = peek();
    if (isWord(t, 'not')) {
      next();
      return { kind: 'not', item: parseNot(), pos: t.pos };
    }
    return parsePredicate();
  }

  function parseAnd(): Expr {
    let left = parseNot();
    while (isWord(peek(), 'and')) {
      const t = next();
      left = { kind: 'and', left, right: parseNot(), pos: t.pos };
    }
    return left;
  }

  function parseOr(): Expr {
    let left = parseAnd();
    while (isWord(peek(), 'or')) {
      const t = next();
      left = { kind: 'or', left, right: parseAnd(), pos: t.pos };
    }
    return left;
  }

  function parseAlias(): string | undefined {
    if (!isWord(peek(), 'as')) return undefined;
    next();
    const t = next();
    if (t.kind !== 'ident' || RESERVED.has(t.value.toLowerCase())) throw fail(t, `expected a name after AS, found ${describe(t)}`);
    return t.value;
  }

  function parseProjection(): Projection {
    const t = peek();
    if (t.kind === 'ident' && isPunct(peek(1), '(')) {
      const name = t.value.toUpperCase();
      if (!AGGREGATES.has(name)) throw fail(t, `${t.value}() cannot be selected; SELECT takes properties and COUNT, SUM, AVG, MIN, MAX`);
      next();
      next();
      let arg: Path | undefined;
      if (name === 'COUNT') {
        if (!isPunct(peek(), ')')) throw fail(peek(), 'COUNT takes no argument: write COUNT()');
      } else {
        arg = parsePath();
      }
      expectPunct(')', `to close ${name}(`);
      const alias = parseAlias();
      return { kind: 'aggregate', name: name as AggregateName, ...(arg ? { arg } : {}), ...(alias ? { alias } : {}), pos: t.pos };
    }
    const path = parsePath();
    const alias = parseAlias();
    return { kind: 'path', path, ...(alias ? { alias } : {}), pos: path.pos };
  }

  expectWord('select', 'at the start of the query');
  let top: number | undefined;
  if (isWord(peek(), 'top')) {
    next();
    const n = next();
    if (n.kind !== 'number' || !Number.isInteger(n.value) || n.value < 1 || n.value > MAX_TOP) throw fail(n, `TOP takes a whole number from 1 to ${MAX_TOP}`);
    top = n.value;
  }
  let select: TwinQuery['select'];
  if (isPunct(peek(), '*')) {
    next();
    select = '*';
  } else {
    const projections = [parseProjection()];
    while (isPunct(peek(), ',')) {
      next();
      projections.push(parseProjection());
    }
    select = projections;
  }
  expectWord('from', 'after the SELECT list');
  const from = next();
  if (!isWord(from, 'devices')) throw fail(from, `expected devices or devices.modules after FROM, found ${describe(from)}`);
  let collection: Collection = 'devices';
  if (isPunct(peek(), '.')) {
    next();
    const sub = next();
    if (isWord(sub, 'jobs')) throw fail(sub, 'devices.jobs queries are not supported; query devices or devices.modules');
    if (!isWord(sub, 'modules')) throw fail(sub, `expected modules after devices., found ${describe(sub)}`);
    collection = 'devices.modules';
  }
  if (peek().kind === 'ident' && !RESERVED.has((peek() as { value: string }).value.toLowerCase())) {
    throw fail(peek(), 'collection aliases and joins are not supported');
  }
  let where: Expr | undefined;
  if (isWord(peek(), 'where')) {
    next();
    where = parseOr();
  }
  const groupBy: Path[] = [];
  if (isWord(peek(), 'group')) {
    next();
    expectWord('by', 'after GROUP');
    groupBy.push(parsePath());
    while (isPunct(peek(), ',')) {
      next();
      groupBy.push(parsePath());
    }
  }
  const end = peek();
  if (end.kind !== 'end') {
    if (isWord(end, 'order')) throw fail(end, 'ORDER BY is not supported (IoT Hub has none); results come in device id order');
    throw fail(end, `unexpected ${describe(end)}; expected WHERE, GROUP BY or the end of the query`);
  }
  return { ...(top === undefined ? {} : { top }), select, from: collection, ...(where ? { where } : {}), groupBy };
}
