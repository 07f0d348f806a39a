import { Engine, type TopLevelCondition } from 'json-rules-engine';
import { DEFINED, OPERATORS, UNDEFINED, evaluateComparison, resolvePointer } from './compile.ts';
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

/**
 * A compiled condition, ready to run against records; one per route so a failure names its route.
 *
 * json-rules-engine's Engine is not re-entrant: `run` keeps a RUNNING/FINISHED status on the engine, and a run that
 * finishes while another is in flight ends the other's rule evaluation early (it then reports no match). Partitions
 * are processed concurrently, so each evaluation borrows an idle engine from a small pool instead of sharing one.
 */
export class CompiledCondition {
  private readonly idle: Engine[] = [];

  constructor(readonly conditions: TopLevelCondition) {
    this.idle.push(this.newEngine());
  }

  private newEngine(): Engine {
    const engine = new Engine([], { allowUndefinedFacts: true, pathResolver: (value, path) => resolvePointer(value, path) });
    for (const [op, name] of Object.entries(OPERATORS)) {
      engine.addOperator(name, (a: unknown, b: unknown) => evaluateComparison(op as CompareOp, a, b));
    }
    engine.addOperator(DEFINED, (a: unknown) => a !== undefined);
    engine.addOperator(UNDEFINED, (a: unknown) => a === undefined);
    engine.addRule({ conditions: this.conditions, event: { type: 'match' } });
    return engine;
  }

  async matches(facts: RouteFacts): Promise<boolean> {
    const engine = this.idle.pop() ?? this.newEngine();
    try {
      // Functions passed as run-time facts become dynamic facts: json-rules-engine calls them only when a condition
      // references them.
      const result = await engine.run({ body: () => facts.body(), twin: () => facts.twin(), system: facts.system, properties: facts.properties, constant: true });
      return result.events.length > 0;
    } finally {
      this.idle.push(engine);
    }
  }
}
