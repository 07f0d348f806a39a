import type { TopLevelCondition } from 'json-rules-engine';
import { numeric } from './functions.ts';
import { parseQuery, type Call, type CompareOp, type Expr, type Operand, type Reference, type Segment } from './parser.ts';

/**
 * Compiles an IoT Hub routing query into json-rules-engine conditions over four facts — `body`, `twin`, `system`,
 * `properties` (application properties) — plus `constant` for `true`/`false`. Paths are JSON pointers (RFC 6901),
 * resolved by `resolvePointer` (evaluate.ts installs it as the engine's path resolver).
 *
 * IoT Hub evaluates queries in three-valued logic: a comparison with a missing property (or between different types)
 * is undefined, NOT undefined is undefined, and a query that ends undefined is false. json-rules-engine's `not` is
 * two-valued, so NOT is pushed down to the leaves instead (De Morgan; `=` ↔ `!=`, `<` ↔ `>=`, IS_DEFINED ↔ its
 * negation), and every leaf operator is false when its operands are missing or of different types. That gives exactly
 * the rows where IoT Hub's query is true: `NOT (level = 'x')` does not match a message without `level`.
 *
 * Function calls (functions.ts) read the fact `expression`, whose params are the call as JSON —
 * `{ call: 'LENGTH', args: [{ fact: 'body', path: '/name' }] }`, literal arguments as `{ value: … }` — so the rule
 * stays plain, storable json-rules-engine JSON. A function returning a Boolean used as a condition compiles to
 * `<call> = true` (negated: `<call> != true`), which keeps the three-valued rule: an undefined result matches neither.
 */
export const OPERATORS = {
  '=': 'iothubEqual',
  '!=': 'iothubNotEqual',
  '<': 'iothubLess',
  '<=': 'iothubLessOrEqual',
  '>': 'iothubGreater',
  '>=': 'iothubGreaterOrEqual',
} as const satisfies Record<CompareOp, string>;
export const DEFINED = 'iothubDefined';
export const UNDEFINED = 'iothubUndefined';

const NEGATED: Record<CompareOp, CompareOp> = { '=': '!=', '!=': '=', '<': '>=', '<=': '>', '>': '<=', '>=': '<' };
const FLIPPED: Record<CompareOp, CompareOp> = { '=': '=', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

export const EXPRESSION_FACT = 'expression';
export type Fact = 'body' | 'twin' | 'system' | 'properties' | 'constant' | typeof EXPRESSION_FACT;
/** A fact reference as json-rules-engine takes it on either side of a condition. */
export type FactRef = { fact: Fact; path?: string; params?: CallJson };
/** A function call as the `expression` fact's params. */
export type CallJson = { call: string; args: ArgJson[] };
export type ArgJson = { fact: Fact; path: string } | { value: string | number | boolean } | CallJson;
/** The condition shapes the compiler emits (json-rules-engine does not export its own nested types). */
export type NestedCondition = (FactRef & { operator: string; value: unknown }) | { all: NestedCondition[] } | { any: NestedCondition[] };

/** Parses and compiles; throws TributaryError('ArgumentInvalid') naming the position of what is not supported. */
export function compileQuery(query: string): TopLevelCondition {
  const condition = toCondition(parseQuery(query), false);
  return ('all' in condition || 'any' in condition ? condition : { all: [condition] }) as TopLevelCondition;
}

function toCondition(expr: Expr, negate: boolean): NestedCondition {
  switch (expr.kind) {
    case 'not':
      return toCondition(expr.item, !negate);
    case 'and':
    case 'or': {
      const items = expr.items.map((item) => toCondition(item, negate));
      return (expr.kind === 'and') !== negate ? { all: items } : { any: items };
    }
    case 'constant':
      return { fact: 'constant', operator: 'equal', value: expr.value !== negate };
    case 'defined':
      return { ...factOf(expr.ref), operator: negate ? UNDEFINED : DEFINED, value: true };
    case 'predicate':
      return { ...callFact(expr.call), operator: OPERATORS[negate ? '!=' : '='], value: true };
    case 'compare':
      return compare(expr.op, expr.left, expr.right, negate);
  }
}

function compare(op: CompareOp, left: Operand, right: Operand, negate: boolean): NestedCondition {
  if (left.kind === 'literal' && right.kind !== 'literal') return compare(FLIPPED[op], right, left, negate);
  const effective = negate ? NEGATED[op] : op;
  if (left.kind === 'literal' && right.kind === 'literal') {
    // Two literals: fold now with the same rules the operators apply at run time.
    return { fact: 'constant', operator: 'equal', value: evaluateComparison(effective, left.value, right.value) };
  }
  if (left.kind === 'literal') throw new Error('unreachable: literal on the left was flipped');
  const value = right.kind === 'literal' ? right.value : operandFact(right);
  return { ...operandFact(left), operator: OPERATORS[effective], value };
}

function operandFact(operand: Exclude<Operand, { kind: 'literal' }>): FactRef {
  return operand.kind === 'ref' ? factOf(operand.ref) : callFact(operand);
}

function callFact(call: Call): FactRef {
  return { fact: EXPRESSION_FACT, params: callJson(call) };
}

function callJson(call: Call): CallJson {
  return {
    call: call.name,
    args: call.args.map((arg): ArgJson => (arg.kind === 'literal' ? { value: arg.value } : arg.kind === 'ref' ? factOf(arg.ref) : callJson(arg))),
  };
}

function factOf(ref: Reference): { fact: Fact; path: string } {
  switch (ref.kind) {
    case 'body':
      return { fact: 'body', path: pointer(ref.path) };
    case 'twin':
      return { fact: 'twin', path: pointer(ref.path) };
    case 'system':
      return { fact: 'system', path: pointer([ref.name]) };
    case 'property':
      return { fact: 'properties', path: pointer([ref.name]) };
  }
}

function pointer(path: Segment[]): string {
  return path.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** JSON pointer lookup; anything missing (or a member of a non-object) is undefined, as IoT Hub treats it. */
export function resolvePointer(value: unknown, path: string): unknown {
  if (path === '') return value;
  let current = value;
  for (const raw of path.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof current !== 'object' || current === null) return undefined;
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(key)) return undefined;
      current = current[Number(key)];
    } else {
      if (!Object.hasOwn(current, key)) return undefined;
      current = (current as Record<string, unknown>)[key];
    }
  }
  return current;
}

/**
 * Orders two values the way the query language compares them; undefined when they cannot be compared (either is
 * missing, null, an object/array, or the types differ). Application properties travel as strings (MQTT has no
 * other type), so a string is compared to a number literal as a number when it is numeric, and to `true`/`false`
 * when it spells one — otherwise `severity >= 4` could never match an MQTT device's `severity=5`.
 */
export function order(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'string' && typeof b === 'number') return order(numeric(a), b);
  if (typeof a === 'number' && typeof b === 'string') return order(a, numeric(b));
  if (typeof a === 'string' && typeof b === 'boolean') return order(booleanOf(a), b);
  if (typeof a === 'boolean' && typeof b === 'string') return order(a, booleanOf(b));
  if (typeof a !== typeof b) return undefined;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) || Number.isNaN(b) ? undefined : a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  return undefined;
}

function booleanOf(s: string): boolean | undefined {
  const lower = s.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}

export function evaluateComparison(op: CompareOp, a: unknown, b: unknown): boolean {
  const o = order(a, b);
  if (o === undefined) return false;
  // Booleans are equal or not; they have no order in the query language.
  if (typeof a === 'boolean' || typeof b === 'boolean') {
    if (op !== '=' && op !== '!=') return false;
  }
  switch (op) {
    case '=':
      return o === 0;
    case '!=':
      return o !== 0;
    case '<':
      return o < 0;
    case '<=':
      return o <= 0;
    case '>':
      return o > 0;
    case '>=':
      return o >= 0;
  }
}
