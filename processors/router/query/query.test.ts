import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileQuery } from './compile.ts';
import { EngineCondition } from './engine-condition.ts';
import { CompiledCondition, lazy, type RouteFacts } from './evaluate.ts';
import { seededRandom } from '../../../test/support/seeded-random.ts';

/** A message shaped like the example in IoT Hub's routing-query docs, plus a twin. */
function facts(overrides: Partial<{ body: unknown; contentType: string; contentEncoding: string; properties: Record<string, string>; twin: unknown }> = {}): RouteFacts {
  const contentType = overrides.contentType ?? 'application/json';
  const contentEncoding = overrides.contentEncoding ?? 'UTF-8';
  const body = overrides.body ?? { Weather: { Temperature: 50, Location: { State: 'WA' }, HistoricalData: [{ Month: 'Feb', Temperature: 40 }] } };
  return {
    body: lazy(() => (contentType === 'application/json' && contentEncoding.toLowerCase() === 'utf-8' ? body : undefined)),
    twin: lazy(() => overrides.twin ?? { tags: { building: '43', deploymentLocation: { floor: 1 } }, properties: { desired: { telemetryConfig: { sendFrequency: '5m' } }, reported: { telemetryConfig: { sendFrequency: '5m', status: 'success' } } } }),
    system: { contentType, contentEncoding, connectionDeviceId: 'thermostat-1', connectionModuleId: undefined, messageId: 'm-1', 'iothub-enqueuedtime': '2017-05-08T18:55:31.851Z', 'iothub-message-source': 'deviceMessages' },
    properties: overrides.properties ?? { processingPath: 'hot', verbose: 'true', severity: '4', testDevice: 'false', level: 'critical' },
  };
}

/** Both evaluators must agree on every query of the tables; the answer is then checked against the expected one. */
async function matches(query: string, f = facts()): Promise<boolean> {
  const rule = compileQuery(query);
  const engine = await new EngineCondition(rule).matches(f);
  const compiled = new CompiledCondition(rule).matches(f);
  assert.equal(compiled, engine, `compiled evaluator and json-rules-engine disagree on ${query}`);
  return compiled;
}

// Examples from IoT Hub's routing-query docs and the issue, with the answer for the message above.
const accepted: Array<[string, boolean]> = [
  ['true', true],
  ['false', false],
  ["processingPath = 'hot'", true],
  ["processingPath = 'cold'", false],
  ["processingPath = 'hot' AND verbose = true", true],
  ["processingPath <> 'hot'", false],
  ["processingPath != 'cold'", true],
  ['severity >= 4', true],
  ['severity > 4', false],
  ["(processingPath = 'cold' OR severity >= 4) AND NOT (testDevice = true)", true],
  ["level = 'critical'", true],
  ["$contentType = 'application/json' AND $contentEncoding = 'UTF-8'", true],
  ["$connectionDeviceId = 'thermostat-1'", true],
  ["$iothub-connection-device-id = 'thermostat-1'", true],
  ["$messageId = 'm-1'", true],
  ["$iothub-enqueuedtime > '2017-01-01'", true],
  ["$iothub-message-source = 'deviceMessages'", true],
  ['IS_DEFINED($connectionModuleId)', false],
  ['NOT IS_DEFINED($connectionModuleId)', true],
  ['$body.Weather.Temperature = 50', true],
  ['$body.Weather.Temperature >= 50.5', false],
  ['50 <= $body.Weather.Temperature', true],
  ["$body.Weather.Temperature = 50 AND processingPath = 'hot'", true],
  ["processingPath = 'cold' AND $body.Weather.Temperature = 50", false], // the body is read after the answer is known
  ["processingPath = 'hot' OR $body.Weather.Temperature = 1", true],
  ["$body.Weather.Location.State = 'WA'", true],
  ["$body.Weather.HistoricalData[0].Month = 'Feb'", true],
  ['$body.Weather.HistoricalData[0].Temperature < $body.Weather.Temperature', true],
  ["$body.temperature > 30 AND $twin.tags.building = '43'", false],
  ["$body.Weather.Temperature > 30 AND $twin.tags.building = '43'", true],
  ['$twin.tags.deploymentLocation.floor = 1', true],
  ["$twin.properties.desired.telemetryConfig.sendFrequency = '5m'", true],
  ["$twin.properties.reported.telemetryConfig.status = 'success'", true],
  ['$twin.properties.desired.telemetryConfig.sendFrequency = $twin.properties.reported.telemetryConfig.sendFrequency', true],
  ['is_defined($body.Weather) and not is_defined($body.Rain)', true],
  ["$body.Weather.Temperature = 'hot'", false], // different types: undefined, so false
  ["NOT ($body.Weather.Temperature = 'hot')", false], // NOT undefined is still undefined
  ["NOT (missing = 'x')", false],
  ["missing = 'x' OR processingPath = 'hot'", true],
  ["NOT (processingPath = 'hot' AND severity > 4)", true],
  ["NOT NOT processingPath = 'hot'", true],
  ["'a' = 'a'", true],
  ['-5 < 0', true],
  ["processingPath = 'it''s' OR processingPath = \"hot\"", true],
];

// IoT Hub's routing functions (iot-hub-devguide-query-language, "Functions") on the same message.
const functions: Array<[string, boolean]> = [
  ['length($body.Weather.Location.State) = 2', true],
  ["upper(level) = 'CRITICAL'", true],
  ["LOWER('ABC') = 'abc'", true],
  ["UPPER(LOWER(level)) = 'CRITICAL'", true],
  ["CONCAT($connectionDeviceId, '/', level) = 'thermostat-1/critical'", true],
  ["CONCAT(level, missing) = 'critical'", false], // an undefined argument makes the call undefined
  ["SUBSTRING($connectionDeviceId, 0, 10) = 'thermostat'", true],
  ["SUBSTRING($connectionDeviceId, 11) = '1'", true],
  ["SUBSTRING(level, 50) = ''", true],
  ["INDEX_OF($connectionDeviceId, '-') = 10", true],
  ["INDEX_OF(level, 'zzz') = -1", true],
  ["STARTS_WITH($connectionDeviceId, 'thermo')", true],
  ["ENDS_WITH($connectionDeviceId, '-1')", true],
  ["ENDS_WITH($connectionDeviceId, 'thermo')", false],
  ["CONTAINS(level, 'tic')", true],
  ["NOT CONTAINS(level, 'warn')", true],
  ["NOT STARTS_WITH(missing, 'x')", false], // undefined, and NOT undefined is undefined
  ["STARTS_WITH(missing, 'x') = false", false],
  ["STARTS_WITH(level, 'crit') = true AND processingPath = 'hot'", true],
  ['LENGTH(level) > LENGTH(processingPath)', true],
  ['3 < LENGTH(processingPath)', false],
  ['LENGTH($body.Weather) > 0', false], // not a string
  ['ABS(-5) = 5', true],
  ['ABS($body.Weather.HistoricalData[0].Temperature) = 40', true],
  ['SQRT($body.Weather.Temperature) > 7', true],
  ['SQRT($body.Weather.Temperature) > 7.1', false],
  ['SQUARE(3) = 9', true],
  ['POWER(2, 10) = 1024', true],
  ['CEILING(1.2) = 2', true],
  ['FLOOR(-1.2) = -2', true],
  ['SIGN(-3) = -1', true],
  ['EXP(0) = 1', true],
  ['SQRT(-1) < 0', false],
  ['NOT (SQRT(-1) >= 0)', false],
  ['ABS(severity) = 4', false], // application properties are strings; math wants numbers…
  ['ABS(AS_NUMBER(severity)) = 4', true], // …which AS_NUMBER gives
  ["AS_NUMBER('x') = 0", false],
  ['IS_DEFINED(AS_NUMBER(level))', false],
  ['IS_DEFINED(AS_NUMBER(severity))', true],
  ['IS_STRING(level)', true],
  ['IS_NUMBER($body.Weather.Temperature)', true],
  ['IS_NUMBER(severity)', false],
  ['IS_OBJECT($body.Weather)', true],
  ['IS_OBJECT($body.Weather.HistoricalData)', false],
  ['IS_ARRAY($body.Weather.HistoricalData)', true],
  ['IS_BOOL(verbose)', false],
  ['IS_BOOL(true)', true],
  ['IS_PRIMITIVE($body.Weather)', false],
  ['IS_PRIMITIVE($body.Weather.Temperature)', true],
  ['IS_NULL($body.Weather.Rain)', false],
  ['NOT IS_STRING(missing)', true], // type checks are never undefined
  ['IS_DEFINED($body.Weather) = true', true],
  ["is_string($twin.tags.building) AND $twin.tags.building = '43'", true],
];

describe('IoT Hub routing queries compile to json-rules-engine conditions', () => {
  for (const [query, expected] of accepted) {
    test(`${query} → ${expected}`, async () => {
      assert.equal(await matches(query), expected);
    });
  }

  for (const [query, expected] of functions) {
    test(`${query} → ${expected}`, async () => {
      assert.equal(await matches(query), expected);
    });
  }

  test('IS_NULL, IS_PRIMITIVE and IS_DEFINED on a JSON null', async () => {
    const f = facts({ body: { gone: null } });
    assert.equal(await matches('IS_NULL($body.gone)', f), true);
    assert.equal(await matches('IS_PRIMITIVE($body.gone)', f), true);
    assert.equal(await matches('IS_DEFINED($body.gone)', f), true);
    assert.equal(await matches('IS_NULL($body.missing)', f), false);
  });

  test('$body is only looked into for application/json in UTF-8, as in IoT Hub', async () => {
    assert.equal(await matches('$body.Weather.Temperature = 50', facts({ contentType: 'text/plain' })), false);
    assert.equal(await matches('$body.Weather.Temperature = 50', facts({ contentEncoding: 'UTF-16' })), false);
    assert.equal(await matches('NOT ($body.Weather.Temperature = 50)', facts({ contentType: 'text/plain' })), false);
    assert.equal(await matches("processingPath = 'hot'", facts({ contentType: 'text/plain' })), true);
  });

  test('a body that cannot be read fails only the conditions that read it', async () => {
    const broken: RouteFacts = { ...facts(), body: lazy(() => { throw new Error('not JSON'); }) };
    await assert.rejects(matches('$body.x = 1', broken), /not JSON/);
    assert.equal(await matches("processingPath = 'hot'", broken), true);
  });

  test('the compiled form is plain JSON conditions with pointer paths', () => {
    assert.deepEqual(compileQuery("$body.a.b > 30 AND NOT level = 'x'"), {
      all: [
        { fact: 'body', path: '/a/b', operator: 'iothubGreater', value: 30 },
        { fact: 'properties', path: '/level', operator: 'iothubNotEqual', value: 'x' },
      ],
    });
  });

  test('function calls compile to the expression fact with the call as params', () => {
    assert.deepEqual(compileQuery("LENGTH($body.name) > 3 AND NOT STARTS_WITH(UPPER(level), 'X')"), {
      all: [
        { fact: 'expression', params: { call: 'LENGTH', args: [{ fact: 'body', path: '/name' }] }, operator: 'iothubGreater', value: 3 },
        { fact: 'expression', params: { call: 'STARTS_WITH', args: [{ call: 'UPPER', args: [{ fact: 'properties', path: '/level' }] }, { value: 'X' }] }, operator: 'iothubNotEqual', value: true },
      ],
    });
  });
});

// Queries IoT Hub accepts (or that look plausible) but this compiler refuses, and plain syntax errors.
const rejected: Array<[string, RegExp]> = [
  ['', /position 1: the condition is empty/],
  ['frobnicate($body.Weather.Location.State) = 2', /position 1: function FROBNICATE is not supported \(supported: ABS, /],
  ['LENGTH(level, 2) = 1', /position 1: LENGTH takes 1 argument, found 2/],
  ['LENGTH() = 0', /LENGTH takes 1 argument, found 0/],
  ["SUBSTRING(level) = 'c'", /SUBSTRING takes 2 or 3 arguments, found 1/],
  ["SUBSTRING(level, 1, 2, 3) = 'c'", /SUBSTRING takes 2 or 3 arguments, found 4/],
  ["CONCAT(level) = 'x'", /CONCAT takes at least 2 arguments, found 1/],
  ['POWER(2) = 4', /POWER takes 2 arguments, found 1/],
  ["STARTS_WITH(level) AND level = 'x'", /STARTS_WITH takes 2 arguments, found 1/],
  ['IS_STRING(level, 1)', /IS_STRING takes 1 argument, found 2/],
  ['AS_NUMBER() = 1', /AS_NUMBER takes 1 argument, found 0/],
  ['LENGTH(5) = 1', /LENGTH expects a string as argument 1, found a number/],
  ["ABS('x') = 1", /ABS expects a number as argument 1, found a string/],
  ['ABS(UPPER(level)) = 1', /ABS expects a number as argument 1, found a string/],
  ["CONCAT(level, 'a', 3) = 'x'", /CONCAT expects a string as argument 3, found a number/],
  ["LENGTH(level) AND level = 'x'", /position 1: LENGTH returns a number, not a condition/],
  ["level = 'a' AND UPPER(level)", /UPPER returns a string, not a condition/],
  ["STARTS_WITH(level 'x')", /expected '\)' to close STARTS_WITH\(/],
  ['$body.Weather.Temperature + 1 > 50', /position 27: arithmetic/],
  ['severity = null', /position 12: null is not supported/],
  ["processingPath = 'hot", /position 18: string literal is not closed/],
  ["processingPath == 'hot'", /position 16: '==' is not an operator/],
  ["processingPath = 'hot' AND", /position 27: expected a property or a value, found the end/],
  ["(processingPath = 'hot'", /position 24: expected '\)'/],
  ['processingPath', /position 15: expected a comparison operator/],
  ["$unknownThing = 'x'", /position 1: unknown system property \$unknownThing/],
  ["$twin.deviceId = 'x'", /\$twin supports only/],
  ["level.sub = 'x'", /position 6: application property level has no members/],
  ["processingPath = 'hot' level = 'x'", /position 24: unexpected "level"/],
  ['IS_DEFINED(5)', /IS_DEFINED takes a property reference/],
  ['$body.a IN [1, 2]', /position 9: expected a comparison operator/],
  ["processingPath = 'a' # comment", /position 22: unexpected character '#'/],
];

describe('unsupported queries are refused with ArgumentInvalid and the position', () => {
  for (const [query, message] of rejected) {
    test(JSON.stringify(query), () => {
      assert.throws(() => compileQuery(query), (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'ArgumentInvalid');
        assert.match((err as Error).message, message);
        return true;
      });
    });
  }
});

const STRINGS = ['hot', 'cold', 'critical', 'CRITICAL', '43', '44', 'WA', 'Feb', '5m', 'success', '4', '5', '-1', 'true', 'false', '', 'x', "it's", 'thermostat-1', 'application/json', 'UTF-8', 'deviceMessages', '2017-05-08T18:55:31.851Z'];
const NUMBERS = [0, 1, 2, 3, 4, 5, -5, 10, 30, 40, 50, 50.5, 1024, -1.2, 1.2, 7.07];

/** Random JSON shaped like the example message: leaves replaced, keys dropped, subtrees swapped for other types. */
function mutate(template: unknown, next: () => number, depth = 0): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const leaf = (): unknown => {
    const r = next();
    return r < 0.35 ? pick(STRINGS) : r < 0.7 ? pick(NUMBERS) : r < 0.8 ? next() < 0.5 : r < 0.9 ? null : depth < 3 ? [leaf(), leaf()] : {};
  };
  if (next() < 0.1) return leaf();
  if (Array.isArray(template)) return template.map((item) => mutate(item, next, depth + 1));
  if (typeof template === 'object' && template !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(template)) if (next() >= 0.12) out[key] = mutate(value, next, depth + 1);
    return out;
  }
  return next() < 0.5 ? template : leaf();
}

function randomFacts(next: () => number): RouteFacts {
  const base = facts();
  const kind = next();
  const body = base.body();
  const bodyFact = kind < 0.05 ? lazy(() => { throw new Error('body is not JSON'); }) : kind < 0.1 ? () => undefined : kind < 0.15 ? () => mutate('x', next) : lazy(() => mutate(body, next));
  const twin = base.twin();
  const twinFact = next() < 0.04 ? lazy(() => { throw new Error('twin is not JSON'); }) : lazy(() => mutate(twin, next));
  const strings = (record: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(record).filter(() => next() >= 0.15).map(([k, v]) => [k, next() < 0.3 ? STRINGS[Math.floor(next() * STRINGS.length)] : v]));
  return { body: bodyFact, twin: twinFact, system: strings(base.system), properties: strings(base.properties) };
}

describe('the compiled evaluator answers exactly as json-rules-engine on the same rules', () => {
  test('every query of the tables on random messages (same match, or both fail)', async () => {
    const seed = Number(process.env.ROUTER_DIFF_SEED ?? Date.now() % 1_000_000);
    const next = seededRandom(seed);
    const rules = [...accepted, ...functions].map(([query]) => ({ query, rule: compileQuery(query) }));
    let compared = 0;
    let thrown = 0;
    for (let i = 0; i < 300; i++) {
      const f = randomFacts(next);
      for (const { query, rule } of rules) {
        const outcome = async (run: () => boolean | Promise<boolean>) => {
          try {
            return await run();
          } catch {
            return 'throws';
          }
        };
        const engine = await outcome(() => new EngineCondition(rule).matches(f));
        const compiled = await outcome(() => new CompiledCondition(rule).matches(f));
        assert.equal(compiled, engine, `${query} on random message #${i} (ROUTER_DIFF_SEED=${seed}): compiled ${String(compiled)}, json-rules-engine ${String(engine)}`);
        compared++;
        if (engine === 'throws') thrown++;
      }
    }
    assert.ok(thrown > 0 && thrown < compared, 'the random messages exercise both failing and answering rules');
  });
});
