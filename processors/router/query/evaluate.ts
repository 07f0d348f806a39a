import type { TopLevelCondition } from 'json-rules-engine';
import { DEFINED, EXPRESSION_FACT, OPERATORS, UNDEFINED, evaluateComparison, type ArgJson, type CallJson, type Fact, type FactRef, type NestedCondition } from './compile.ts';
import { functionNamed } from './functions.ts';
import type { CompareOp } from './parser.ts';

/**
 * What a condition sees of one record. `body` and `twin` are functions so they are parsed only when a route reads
 * them (and only once per record: `lazy` memoises the value or the error); a throw there — e.g. a body labelled
 * application/json that is not JSON — fails the route that asked, not the routes that did not look.
 */
export interface RouteFacts {
  body: () => unknown;
  twin: () => unknown;
  system: Record<string, unknown>;
  properties: Record<string, unknown>;
}

export function lazy<T>(compute: () => T): () => T {
  let done: { value: T } | { error: unknown } | undefined;
  return () => {
    done ??= (() => {
      try {
        return { value: compute() };
      } catch (error) {
        return { error };
      }
    })();
    if ('error' in done) throw done.error;
    return done.value;
  };
}

/** A route condition ready to run against records: the json-rules-engine rule it was compiled to, and a test. */
export interface RouteCondition {
  /** The json-rules-engine conditions (what `compileQuery` returned): the rule model, inspectable and storable. */
  readonly conditions: TopLevelCondition;
  matches(facts: RouteFacts): boolean | Promise<boolean>;
}

type Getter = (facts: RouteFacts) => unknown;
type Test = (facts: RouteFacts) => boolean;

/**
 * Evaluates a compiled rule without json-rules-engine's Engine: the rule JSON is turned once into closures that
 * implement exactly the operators the compiler emits (OPERATORS, DEFINED, UNDEFINED, `equal` on the constant fact,
 * the `expression` fact). Engine.run costs an Almanac, fact hashing (hash-it over every fact object) and a promise per
 * condition for every record; this costs a few property reads. engine-condition.ts runs the same JSON through
 * json-rules-engine, and query.test.ts checks both agree on every query of its table and on random facts.
 *
 * json-rules-engine evaluates every condition of a rule (Promise.all per priority level, and all our facts share one
 * priority), so a body or twin that fails to parse fails the rule whenever the rule references it, whatever the other
 * branches decide. To give the same answer this evaluator reads the lazy facts the rule references first, then
 * short-circuits.
 */
export class CompiledCondition implements RouteCondition {
  private readonly test: Test;
  private readonly readsBody: boolean;
  private readonly readsTwin: boolean;

  constructor(readonly conditions: TopLevelCondition) {
    const facts = new Set<Fact>();
    this.test = compileNode(conditions as NestedCondition, facts);
    this.readsBody = facts.has('body');
    this.readsTwin = facts.has('twin');
  }

  matches(facts: RouteFacts): boolean {
    if (this.readsBody) facts.body();
    if (this.readsTwin) facts.twin();
    return this.test(facts);
  }
}

function compileNode(node: NestedCondition, facts: Set<Fact>): Test {
  if ('all' in node) {
    const tests = node.all.map((n) => compileNode(n, facts));
    return (f) => {
      for (const t of tests) if (!t(f)) return false;
      return true;
    };
  }
  if ('any' in node) {
    const tests = node.any.map((n) => compileNode(n, facts));
    return (f) => {
      for (const t of tests) if (t(f)) return true;
      return false;
    };
  }
  const left = compileFactRef(node, facts);
  const value = node.value;
  const right: Getter = isFactRef(value) ? compileFactRef(value, facts) : () => value;
  const compare = COMPARE_BY_OPERATOR.get(node.operator);
  if (compare) return (f) => evaluateComparison(compare, left(f), right(f));
  switch (node.operator) {
    case DEFINED:
      return (f) => left(f) !== undefined;
    case UNDEFINED:
      return (f) => left(f) === undefined;
    case 'equal':
      return (f) => left(f) === right(f);
    default:
      throw new Error(`the compiled evaluator does not implement operator ${node.operator}; it implements what compileQuery emits`);
  }
}

const COMPARE_BY_OPERATOR = new Map<string, CompareOp>(Object.entries(OPERATORS).map(([op, name]) => [name, op as CompareOp]));

export function isFactRef(value: unknown): value is FactRef {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, 'fact');
}

function compileFactRef(ref: FactRef, facts: Set<Fact>): Getter {
  if (ref.fact === EXPRESSION_FACT) {
    if (!ref.params) throw new Error('the expression fact needs params (the function call)');
    return compileCall(ref.params, facts);
  }
  facts.add(ref.fact);
  const root = rootGetter(ref.fact);
  const resolve = compilePointer(ref.path ?? '');
  return resolve ? (f) => resolve(root(f)) : root;
}

function rootGetter(fact: Fact): Getter {
  switch (fact) {
    case 'body':
      return (f) => f.body();
    case 'twin':
      return (f) => f.twin();
    case 'system':
      return (f) => f.system;
    case 'properties':
      return (f) => f.properties;
    case 'constant':
      return () => true;
    default:
      return () => undefined; // json-rules-engine with allowUndefinedFacts: an unknown fact is undefined
  }
}

function compileCall(call: CallJson, facts: Set<Fact>): Getter {
  const fn = functionNamed(call.call);
  if (!fn) throw new Error(`unknown function ${call.call} in a compiled condition`);
  const args = call.args.map((arg) => compileArg(arg, facts));
  return (f) => fn.apply(args.map((a) => a(f)));
}

function compileArg(arg: ArgJson, facts: Set<Fact>): Getter {
  if ('call' in arg) return compileCall(arg, facts);
  if ('fact' in arg) return compileFactRef(arg, facts);
  const value = arg.value;
  return () => value;
}

/**
 * A JSON pointer (RFC 6901) as a function, split once: the same answers as `resolvePointer` (compile.ts), and
 * undefined for a member of anything that is not an object or array (a primitive or null body has no members).
 * Undefined for the empty pointer, which means the value itself.
 */
export function compilePointer(path: string): ((value: unknown) => unknown) | undefined {
  if (path === '') return undefined;
  const keys = path.slice(1).split('/').map((raw) => {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    return { key, index: /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : undefined };
  });
  return (value) => {
    let current = value;
    for (const { key, index } of keys) {
      if (typeof current !== 'object' || current === null) return undefined;
      if (Array.isArray(current)) {
        if (index === undefined) return undefined;
        current = current[index];
      } else {
        if (!Object.hasOwn(current, key)) return undefined;
        current = (current as Record<string, unknown>)[key];
      }
    }
    return current;
  };
}

/** Evaluates a function call with fact values from `read` (async: json-rules-engine's almanac answers in promises). */
export async function evaluateCallAsync(call: CallJson, read: (fact: Fact, path: string) => Promise<unknown>): Promise<unknown> {
  const fn = functionNamed(call.call);
  if (!fn) throw new Error(`unknown function ${call.call} in a compiled condition`);
  const args = await Promise.all(call.args.map((arg) => ('call' in arg ? evaluateCallAsync(arg, read) : 'fact' in arg ? read(arg.fact, arg.path) : Promise.resolve(arg.value))));
  return fn.apply(args);
}
