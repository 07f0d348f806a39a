import { Engine, type Almanac, type TopLevelCondition } from 'json-rules-engine';
import { DEFINED, EXPRESSION_FACT, OPERATORS, UNDEFINED, evaluateComparison, resolvePointer, type CallJson, type Fact } from './compile.ts';
import { evaluateCallAsync, type RouteCondition, type RouteFacts } from './evaluate.ts';
import type { CompareOp } from './parser.ts';

/**
 * A compiled rule run by json-rules-engine's Engine itself — the reference the fast evaluator (CompiledCondition) is
 * checked against, and the router's `evaluator: 'json-rules-engine'` setting.
 *
 * json-rules-engine's Engine is not re-entrant: `run` keeps a RUNNING/FINISHED status on the engine, and a run that
 * finishes while another is in flight ends the other's rule evaluation early (it then reports no match). Partitions
 * are processed concurrently, so each evaluation borrows an idle engine from a small pool instead of sharing one.
 *
 * The almanac hands a fact's value unchanged to the operator when a path is asked of something that is not an object
 * (a body that is the JSON `42` or `null` would answer `$body.x` with 42 or null). In IoT Hub's language a member of a
 * primitive is undefined, so primitive body and twin values are boxed: the path resolver answers undefined for any
 * path into a box, and the operators unbox what reaches them (the empty path, `$body` itself).
 */
class Boxed {
  constructor(readonly value: unknown) {}
}
const box = (value: unknown) => (typeof value === 'object' && value !== null ? value : new Boxed(value));
const unbox = (value: unknown) => (value instanceof Boxed ? value.value : value);

export class EngineCondition implements RouteCondition {
  private readonly idle: Engine[] = [];

  constructor(readonly conditions: TopLevelCondition) {
    this.idle.push(this.newEngine());
  }

  private newEngine(): Engine {
    const engine = new Engine([], {
      allowUndefinedFacts: true,
      pathResolver: (value, path) => (value instanceof Boxed ? undefined : resolvePointer(value, path)),
    });
    for (const [op, name] of Object.entries(OPERATORS)) {
      engine.addOperator(name, (a: unknown, b: unknown) => evaluateComparison(op as CompareOp, unbox(a), unbox(b)));
    }
    engine.addOperator(DEFINED, (a: unknown) => unbox(a) !== undefined);
    engine.addOperator(UNDEFINED, (a: unknown) => unbox(a) === undefined);
    // Function calls: the call is the fact's params; its arguments are read through the same almanac.
    engine.addFact(EXPRESSION_FACT, (params: unknown, almanac: Almanac) =>
      evaluateCallAsync(params as CallJson, async (fact: Fact, path: string) => unbox(await almanac.factValue(fact, {}, path))),
    );
    engine.addRule({ conditions: this.conditions, event: { type: 'match' } });
    return engine;
  }

  async matches(facts: RouteFacts): Promise<boolean> {
    const engine = this.idle.pop() ?? this.newEngine();
    try {
      // Functions passed as run-time facts become dynamic facts: json-rules-engine calls them only when a condition
      // references them. They answer with promises, never throw: the almanac calls a fact synchronously, and a
      // synchronous throw in one condition would leave a sibling condition's rejected promise (a function call's)
      // unhandled — which ends a Node process.
      const result = await engine.run({
        body: () => Promise.resolve().then(() => box(facts.body())),
        twin: () => Promise.resolve().then(() => box(facts.twin())),
        system: facts.system,
        properties: facts.properties,
        constant: true,
      });
      return result.events.length > 0;
    } finally {
      this.idle.push(engine);
    }
  }
}
