import { FUNCTIONS, acceptsArity, arityText, functionNamed, paramType, type ResultType } from './functions.ts';
import { queryError, tokenize, type Token } from './tokenizer.ts';

/**
 * Recursive-descent parser for IoT Hub's routing-query language:
 *
 *   query      := or
 *   or         := and ( OR and )*
 *   and        := unary ( AND unary )*
 *   unary      := NOT unary | primary
 *   primary    := '(' or ')' | TRUE | FALSE | call | operand compareOp operand      (a bare call returns a Boolean)
 *   operand    := reference | 'string' | number | TRUE | FALSE | call
 *   call       := FUNCTION '(' operand ( ',' operand )* ')'                      (functions.ts, arity checked)
 *   reference  := $body path? | $twin.tags path? | $twin.properties.(desired|reported) path? | $systemProperty | name
 *   path       := ( '.' name | '[' index ']' )+
 *
 * Everything else IoT Hub's language has (arithmetic, null, arrays, objects) is refused with the position, and so are
 * unknown functions, wrong arities and literal arguments of the wrong type, so a route is never saved with a condition
 * that silently means something else.
 */
export type Segment = string | number;
export type Reference =
  | { kind: 'body'; path: Segment[] }
  | { kind: 'twin'; path: Segment[] }
  | { kind: 'system'; name: string }
  | { kind: 'property'; name: string };
export type Literal = string | number | boolean;
export type Call = { kind: 'call'; name: string; args: Operand[]; returns: ResultType };
export type Operand = { kind: 'ref'; ref: Reference } | { kind: 'literal'; value: Literal } | Call;
export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type Expr =
  | { kind: 'and' | 'or'; items: Expr[] }
  | { kind: 'not'; item: Expr }
  | { kind: 'defined'; ref: Reference }
  /** A function returning a Boolean used as a condition: `STARTS_WITH($connectionDeviceId, 'sensor-')`. */
  | { kind: 'predicate'; call: Call }
  | { kind: 'constant'; value: boolean }
  | { kind: 'compare'; op: CompareOp; left: Operand; right: Operand };

/**
 * System properties a query may name (`$name`) and the message field each reads. IoT Hub names some both ways
 * (`$connectionDeviceId` in queries, `iothub-connection-device-id` on the wire); both spellings are accepted.
 */
export const SYSTEM_PROPERTIES: Record<string, string> = {
  messageId: 'messageId',
  correlationId: 'correlationId',
  userId: 'userId',
  to: 'to',
  contentType: 'contentType',
  contentEncoding: 'contentEncoding',
  connectionDeviceId: 'connectionDeviceId',
  'iothub-connection-device-id': 'connectionDeviceId',
  connectionModuleId: 'connectionModuleId',
  'iothub-connection-module-id': 'connectionModuleId',
  connectionDeviceGenerationId: 'connectionDeviceGenerationId',
  'iothub-connection-auth-method': 'connectionAuthMethod',
  'iothub-enqueuedtime': 'iothub-enqueuedtime',
  'iothub-creation-time-utc': 'iothub-creation-time-utc',
  'iothub-message-source': 'iothub-message-source',
  'iothub-interface-name': 'interfaceId',
  'dt-dataschema': 'interfaceId',
  'dt-subject': 'componentName',
  outputName: 'outputName',
};

const KEYWORDS = new Set(['and', 'or', 'not', 'true', 'false', 'null']);

export function parseQuery(query: string): Expr {
  if (query.trim() === '') throw queryError(query, 1, 'the condition is empty; use true to match everything');
  const tokens = tokenize(query);
  let index = 0;
  const peek = (k = 0): Token => tokens[Math.min(index + k, tokens.length - 1)]!;
  const next = (): Token => tokens[Math.min(index++, tokens.length - 1)]!;
  const isWord = (t: Token, word: string) => t.kind === 'ident' && t.value.toLowerCase() === word;
  const isPunct = (t: Token, p: string) => t.kind === 'punct' && t.value === p;
  const describe = (t: Token) => (t.kind === 'end' ? 'the end of the query' : t.kind === 'string' ? `'${t.value}'` : t.kind === 'system' ? `$${t.value}` : `"${String(t.value)}"`);
  const fail = (t: Token, what: string) => queryError(query, t.pos, what);
  const expect = (p: string, what: string) => {
    const t = next();
    if (!isPunct(t, p)) throw fail(t, `expected '${p}' ${what}, found ${describe(t)}`);
  };

  function parseOr(): Expr {
    const items = [parseAnd()];
    while (isWord(peek(), 'or')) {
      next();
      items.push(parseAnd());
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  }
  function parseAnd(): Expr {
    const items = [parseUnary()];
    while (isWord(peek(), 'and')) {
      next();
      items.push(parseUnary());
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  }
  function parseUnary(): Expr {
    if (isWord(peek(), 'not')) {
      next();
      return { kind: 'not', item: parseUnary() };
    }
    return parsePrimary();
  }
  function parsePrimary(): Expr {
    const t = peek();
    if (isPunct(t, '(')) {
      next();
      const inner = parseOr();
      expect(')', 'to close the parenthesis');
      return inner;
    }
    const left = parseOperand();
    const op = peek();
    if (op.kind !== 'op') {
      if (left.kind === 'literal' && typeof left.value === 'boolean') return { kind: 'constant', value: left.value };
      if (left.kind === 'call' && left.returns === 'boolean') {
        // IS_DEFINED of a reference keeps its own operator (the rule form routes were saved with before functions).
        const [arg] = left.args;
        return left.name === 'IS_DEFINED' && arg?.kind === 'ref' ? { kind: 'defined', ref: arg.ref } : { kind: 'predicate', call: left };
      }
      if (left.kind === 'call') throw fail(t, `${left.name} returns a ${left.returns}, not a condition; compare it, e.g. ${left.name}(…) = …`);
      throw fail(op, `expected a comparison operator (=, !=, <>, <, <=, >, >=) after the operand, found ${describe(op)}`);
    }
    next();
    const right = parseOperand();
    const compare: CompareOp = op.value === '<>' ? '!=' : op.value;
    return { kind: 'compare', op: compare, left, right };
  }
  function parseOperand(): Operand {
    const t = next();
    switch (t.kind) {
      case 'string':
      case 'number':
        return { kind: 'literal', value: t.value };
      case 'system':
        return { kind: 'ref', ref: parseSystemRef(t) };
      case 'ident': {
        const lower = t.value.toLowerCase();
        if (lower === 'true' || lower === 'false') return { kind: 'literal', value: lower === 'true' };
        if (isPunct(peek(), '(')) return parseCall(t);
        if (lower === 'null') throw fail(t, 'null is not supported; use IS_NULL(x), IS_DEFINED(x) or NOT IS_DEFINED(x)');
        if (KEYWORDS.has(lower)) throw fail(t, `expected a property or a value, found the keyword ${t.value.toUpperCase()}`);
        if (isPunct(peek(), '.') || isPunct(peek(), '[')) {
          throw fail(peek(), `application property ${t.value} has no members; to look into the message body write $body.${t.value}…`);
        }
        return { kind: 'ref', ref: { kind: 'property', name: t.value } };
      }
      case 'punct':
        if (t.value === '[') throw fail(t, 'array literals are not supported');
        throw fail(t, `expected a property or a value, found '${t.value}'`);
      default:
        throw fail(t, `expected a property or a value, found ${describe(t)}`);
    }
  }
  function parseCall(t: Token & { kind: 'ident' }): Call {
    const name = t.value.toUpperCase();
    const fn = functionNamed(name);
    if (!fn) throw fail(t, `function ${name} is not supported (supported: ${Object.keys(FUNCTIONS).join(', ')})`);
    expect('(', `after ${name}`);
    const args: Operand[] = [];
    if (!isPunct(peek(), ')')) {
      args.push(parseOperand());
      while (isPunct(peek(), ',')) {
        next();
        args.push(parseOperand());
      }
    }
    expect(')', `to close ${name}(`);
    if (!acceptsArity(fn, args.length)) throw fail(t, `${name} takes ${arityText(fn)}, found ${args.length}`);
    if (name === 'IS_DEFINED' && args[0]!.kind === 'literal') throw fail(t, 'IS_DEFINED takes a property reference, not a literal');
    args.forEach((arg, i) => {
      const expected = paramType(fn, i);
      const actual = arg.kind === 'literal' ? typeof arg.value : arg.kind === 'call' ? arg.returns : undefined;
      // A literal (or a function result) of the wrong type would make the call undefined on every message.
      if (expected !== 'any' && actual !== undefined && actual !== expected) {
        throw fail(t, `${name} expects a ${expected} as argument ${i + 1}, found a ${actual}`);
      }
    });
    return { kind: 'call', name, args, returns: fn.returns };
  }
  function parsePath(): Segment[] {
    const path: Segment[] = [];
    for (;;) {
      if (isPunct(peek(), '.')) {
        next();
        const name = next();
        if (name.kind !== 'ident') throw fail(name, `expected a member name after '.', found ${describe(name)}`);
        path.push(name.value);
      } else if (isPunct(peek(), '[')) {
        next();
        const item = next();
        if (item.kind === 'number' && Number.isInteger(item.value) && item.value >= 0) path.push(item.value);
        else if (item.kind === 'string') path.push(item.value);
        else throw fail(item, `expected an array index or a quoted member name inside [ ], found ${describe(item)}`);
        expect(']', 'to close the index');
      } else {
        return path;
      }
    }
  }
  function parseSystemRef(t: Token & { kind: 'system' }): Reference {
    if (t.value === 'body') return { kind: 'body', path: parsePath() };
    if (t.value === 'twin') {
      const path = parsePath();
      const [first, second] = path;
      if (first === 'tags' || (first === 'properties' && (second === 'desired' || second === 'reported'))) return { kind: 'twin', path };
      throw fail(t, '$twin supports only $twin.tags.…, $twin.properties.desired.… and $twin.properties.reported.…');
    }
    const field = SYSTEM_PROPERTIES[t.value];
    if (field === undefined) throw fail(t, `unknown system property $${t.value} (known: ${Object.keys(SYSTEM_PROPERTIES).map((k) => `$${k}`).join(', ')})`);
    if (isPunct(peek(), '.') || isPunct(peek(), '[')) throw fail(peek(), `system property $${t.value} has no members`);
    return { kind: 'system', name: field };
  }

  const expr = parseOr();
  const rest = peek();
  if (rest.kind !== 'end') throw fail(rest, `unexpected ${describe(rest)}; conditions are joined with AND or OR`);
  return expr;
}
