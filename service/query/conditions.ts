import type { Collection, CompareOp, Expr, Literal } from './parser.ts';
import { asJsonb, Params, resolveProperty, type SqlValue } from './properties.ts';
import { queryError } from './tokenizer.ts';

/**
 * WHERE conditions → SQL booleans with IoT Hub's (DocumentDB's) three-valued semantics: SQL NULL is *undefined*.
 * Comparisons only compare like types — a string with a number is undefined, not an error and not false — so that
 * `NOT (tags.floor = 'x')` does not suddenly match twins whose floor is a number; AND/OR/NOT are Kleene logic, exactly
 * SQL's. A row matches when the condition is true ("Expressions and conditions": anything but true is false).
 *
 * `positive` is true while no NOT encloses the expression. There a comparison only has to be true exactly when the
 * exact one is (AND/OR are monotone), which lets `tags.a.b = 'x'` become `t.tags @> '{"a":{"b":"x"}}'`, served by the
 * GIN index of migration 0002.
 */
type Operand = { kind: 'lit'; value: Literal } | { kind: 'sql'; value: SqlValue; tagsPath?: string[] };

export interface ConditionContext {
  query: string;
  collection: Collection;
  params: Params;
}

const PRIMITIVES = `('string', 'number', 'boolean', 'null')`;
const UNDEFINED = 'NULL::boolean';
const SQL_OP: Record<CompareOp, string> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };
const FLIP: Record<CompareOp, CompareOp> = { '=': '=', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

const TYPE_CHECKS: Record<string, (jsonType: string) => string> = {
  IS_NULL: (t) => `${t} = 'null'`,
  IS_STRING: (t) => `${t} = 'string'`,
  IS_NUMBER: (t) => `${t} = 'number'`,
  IS_BOOL: (t) => `${t} = 'boolean'`,
  IS_OBJECT: (t) => `${t} = 'object'`,
  IS_ARRAY: (t) => `${t} = 'array'`,
  IS_PRIMITIVE: (t) => `${t} IN ${PRIMITIVES}`,
};
const STRING_TESTS: Record<string, (a: string, b: string) => string> = {
  STARTSWITH: (a, b) => `starts_with(${a}, ${b})`,
  STARTS_WITH: (a, b) => `starts_with(${a}, ${b})`,
  ENDSWITH: (a, b) => `(right(${a}, char_length(${b})) = ${b})`,
  ENDS_WITH: (a, b) => `(right(${a}, char_length(${b})) = ${b})`,
  CONTAINS: (a, b) => `(strpos(${a}, ${b}) > 0)`,
};
export const FUNCTION_NAMES = ['IS_DEFINED', ...Object.keys(TYPE_CHECKS), ...Object.keys(STRING_TESTS), 'LOWER', 'UPPER', 'LENGTH'];

/**
 * Strings order by code point (COLLATE "C"), whatever the database's collation, as IoT Hub's ordinal comparison does.
 * Equality needs no collation, and leaving it out keeps the primary key usable for `deviceId = '…'`.
 */
function collate(op: CompareOp): string {
  return op === '=' || op === '!=' ? '' : ' COLLATE "C"';
}

function jsonTypeOf(value: Literal): string {
  return value === null ? 'null' : typeof value === 'boolean' ? 'boolean' : typeof value;
}

function compareLiterals(op: CompareOp, a: Literal, b: Literal): string {
  if (jsonTypeOf(a) !== jsonTypeOf(b)) return UNDEFINED;
  if (a === null || b === null) return op === '=' || op === '<=' || op === '>=' ? 'TRUE' : 'FALSE';
  const result = op === '=' ? a === b : op === '!=' ? a !== b : op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
  return result ? 'TRUE' : 'FALSE';
}

/** `{"a":{"b":value}}` for the tags path a.b: what `t.tags @>` needs. */
function nest(path: string[], value: Literal): unknown {
  return path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
}

export function compileCondition(expr: Expr, ctx: ConditionContext, positive = true): string {
  switch (expr.kind) {
    case 'and':
    case 'or':
      return `(${compileCondition(expr.left, ctx, positive)} ${expr.kind.toUpperCase()} ${compileCondition(expr.right, ctx, positive)})`;
    case 'not':
      return `(NOT ${compileCondition(expr.item, ctx, false)})`;
    case 'compare':
      return compare(expr.op, operand(expr.left, ctx), operand(expr.right, ctx), ctx, positive);
    case 'in':
      return membership(expr.negated, operand(expr.left, ctx), expr.items, ctx, positive);
    case 'literal':
      return expr.value === true ? 'TRUE' : 'FALSE';
    default: {
      // A bare property or function: true only when it is the Boolean true.
      const value = (operand(expr, ctx) as { value: SqlValue }).value;
      if (value.type === 'boolean') return `(${value.sql})`;
      if (value.type !== 'jsonb') return UNDEFINED;
      return `(CASE WHEN jsonb_typeof(${value.sql}) = 'boolean' THEN ${value.sql} = 'true'::jsonb END)`;
    }
  }
}

function operand(expr: Expr, ctx: ConditionContext): Operand {
  switch (expr.kind) {
    case 'literal':
      return { kind: 'lit', value: expr.value };
    case 'path': {
      // Resolved against scratch parameters first: a tags path compared by containment never uses its `#>` path, and
      // an unused `$n` would leave PostgreSQL unable to infer its type.
      const probe = resolveProperty(ctx.query, expr, ctx.collection, new Params());
      if (!probe.tagsPath) return { kind: 'sql', value: resolveProperty(ctx.query, expr, ctx.collection, ctx.params).value };
      let value: SqlValue | undefined;
      return {
        kind: 'sql',
        tagsPath: probe.tagsPath,
        get value() {
          value ??= resolveProperty(ctx.query, expr, ctx.collection, ctx.params).value;
          return value;
        },
      };
    }
    case 'call':
      return call(expr, ctx);
    default:
      // A comparison or logical expression used as a value (`(a = 1) = true`).
      return { kind: 'sql', value: { type: 'boolean', sql: compileCondition(expr, ctx, false) } };
  }
}

function compare(op: CompareOp, left: Operand, right: Operand, ctx: ConditionContext, positive: boolean): string {
  if (left.kind === 'lit' && right.kind === 'lit') return compareLiterals(op, left.value, right.value);
  if (left.kind === 'lit') return compare(FLIP[op], right, left, ctx, positive);
  const p = ctx.params;
  const sqlOp = SQL_OP[op];
  if (right.kind === 'lit' && positive && op === '=' && left.tagsPath) {
    return `(t.tags @> ${p.add(JSON.stringify(nest(left.tagsPath, right.value)), 'jsonb')})`;
  }
  const v = left.value;
  if (right.kind === 'lit') {
    const lit = right.value;
    const litType = jsonTypeOf(lit);
    if (lit === null) {
      return `(CASE WHEN jsonb_typeof(${asJsonb(v)}) = 'null' THEN ${op === '=' || op === '<=' || op === '>=' ? 'TRUE' : 'FALSE'} END)`;
    }
    if (v.type === 'text') return litType === 'string' ? `(${v.sql}${collate(op)} ${sqlOp} ${p.add(lit, 'text')})` : UNDEFINED;
    if (v.type === 'number') return litType === 'number' ? `(${v.sql}::numeric ${sqlOp} ${p.add(lit, 'numeric')})` : UNDEFINED;
    if (v.type === 'boolean') return litType === 'boolean' ? `(${v.sql} ${sqlOp} ${p.add(lit, 'boolean')})` : UNDEFINED;
    if (positive && op === '=') return `(${v.sql} = ${p.add(JSON.stringify(lit), 'jsonb')})`;
    if (litType === 'string') {
      return `(CASE WHEN jsonb_typeof(${v.sql}) = 'string' THEN (${v.sql} #>> '{}') COLLATE "C" ${sqlOp} ${p.add(lit, 'text')} END)`;
    }
    return `(CASE WHEN jsonb_typeof(${v.sql}) = '${litType}' THEN ${v.sql} ${sqlOp} ${p.add(JSON.stringify(lit), 'jsonb')} END)`;
  }
  const w = right.value;
  if (v.type === 'text' && w.type === 'text') return `(${v.sql}${collate(op)} ${sqlOp} ${w.sql}${collate(op)})`;
  if (v.type === 'number' && w.type === 'number') return `(${v.sql}::numeric ${sqlOp} ${w.sql}::numeric)`;
  const a = asJsonb(v);
  const b = asJsonb(w);
  return (
    `(CASE WHEN jsonb_typeof(${a}) = jsonb_typeof(${b}) AND jsonb_typeof(${a}) IN ${PRIMITIVES} THEN ` +
    `CASE WHEN jsonb_typeof(${a}) = 'string' THEN (${a} #>> '{}') COLLATE "C" ${sqlOp} (${b} #>> '{}') COLLATE "C" ELSE ${a} ${sqlOp} ${b} END END)`
  );
}

/** `x IN [..]` is true when x equals an element, false when x is a primitive equal to none, undefined otherwise. */
function membership(negated: boolean, left: Operand, items: Literal[], ctx: ConditionContext, positive: boolean): string {
  const p = ctx.params;
  if (left.kind === 'lit') {
    const lit = left.value;
    const found = items.some((item) => compareLiterals('=', lit, item) === 'TRUE');
    return found !== negated ? 'TRUE' : 'FALSE';
  }
  if (positive && !negated && left.tagsPath && items.length > 0) {
    const path = left.tagsPath;
    return `(${items.map((item) => `t.tags @> ${p.add(JSON.stringify(nest(path, item)), 'jsonb')}`).join(' OR ')})`;
  }
  const v = left.value;
  const notIn = negated ? 'NOT IN' : 'IN';
  if (v.type === 'text' || v.type === 'number') {
    const wanted = v.type === 'text' ? 'string' : 'number';
    const same = items.filter((item) => typeof item === wanted);
    if (same.length === 0) return `(CASE WHEN ${v.sql} IS NOT NULL THEN ${negated ? 'TRUE' : 'FALSE'} END)`;
    const cast = v.type === 'text' ? 'text' : 'numeric';
    const column = v.type === 'number' ? `${v.sql}::numeric` : v.sql;
    return `(${column} ${notIn} (${same.map((item) => p.add(item, cast)).join(', ')}))`;
  }
  const j = asJsonb(v);
  if (items.length === 0) return `(CASE WHEN jsonb_typeof(${j}) IN ${PRIMITIVES} THEN ${negated ? 'TRUE' : 'FALSE'} END)`;
  const list = items.map((item) => p.add(JSON.stringify(item), 'jsonb')).join(', ');
  if (positive && !negated) return `(${j} IN (${list}))`;
  return `(CASE WHEN jsonb_typeof(${j}) IN ${PRIMITIVES} THEN ${j} ${notIn} (${list}) END)`;
}

/** The argument as SQL text when it is a string, NULL (undefined) otherwise. */
function textOf(arg: Operand, p: Params): string {
  if (arg.kind === 'lit') return typeof arg.value === 'string' ? p.add(arg.value, 'text') : 'NULL::text';
  const v = arg.value;
  if (v.type === 'text') return v.sql;
  if (v.type !== 'jsonb') return 'NULL::text';
  return `(CASE WHEN jsonb_typeof(${v.sql}) = 'string' THEN ${v.sql} #>> '{}' END)`;
}

function call(expr: Extract<Expr, { kind: 'call' }>, ctx: ConditionContext): Operand {
  const { name, args, pos } = expr;
  const arity = (n: number) => {
    if (args.length !== n) throw queryError(ctx.query, pos, `${name} takes ${n} argument${n === 1 ? '' : 's'}, not ${args.length}`);
  };
  const ops = () => args.map((a) => operand(a, ctx));
  if (name === 'IS_DEFINED') {
    arity(1);
    const [arg] = ops() as [Operand];
    return { kind: 'sql', value: { type: 'boolean', sql: arg.kind === 'lit' ? 'TRUE' : `(${arg.value.sql} IS NOT NULL)` } };
  }
  const typeCheck = TYPE_CHECKS[name];
  if (typeCheck) {
    arity(1);
    const [arg] = ops() as [Operand];
    if (arg.kind === 'lit') return { kind: 'sql', value: { type: 'boolean', sql: `coalesce(${typeCheck(`'${jsonTypeOf(arg.value)}'`)}, false)` } };
    return { kind: 'sql', value: { type: 'boolean', sql: `coalesce(${typeCheck(`jsonb_typeof(${asJsonb(arg.value)})`)}, false)` } };
  }
  const stringTest = STRING_TESTS[name];
  if (stringTest) {
    arity(2);
    const [a, b] = ops() as [Operand, Operand];
    return { kind: 'sql', value: { type: 'boolean', sql: stringTest(textOf(a, ctx.params), textOf(b, ctx.params)) } };
  }
  if (name === 'LOWER' || name === 'UPPER' || name === 'LENGTH') {
    arity(1);
    const [a] = ops() as [Operand];
    const text = textOf(a, ctx.params);
    if (name === 'LENGTH') return { kind: 'sql', value: { type: 'number', sql: `char_length(${text})` } };
    return { kind: 'sql', value: { type: 'text', sql: `${name.toLowerCase()}(${text})` } };
  }
  throw queryError(ctx.query, pos, `unknown function ${name}; twin queries support ${FUNCTION_NAMES.join(', ')}`);
}
