import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileQuery } from './compile.ts';
import { CompiledCondition, lazy, type RouteFacts } from './evaluate.ts';

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

async function matches(query: string, f = facts()): Promise<boolean> {
  return new CompiledCondition(compileQuery(query)).matches(f);
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

describe('IoT Hub routing queries compile to json-rules-engine conditions', () => {
  for (const [query, expected] of accepted) {
    test(`${query} → ${expected}`, async () => {
      assert.equal(await matches(query), expected);
    });
  }

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
});

// Queries IoT Hub accepts (or that look plausible) but this compiler refuses, and plain syntax errors.
const rejected: Array<[string, RegExp]> = [
  ['', /position 1: the condition is empty/],
  ['length($body.Weather.Location.State) = 2', /position 1: function LENGTH is not supported/],
  ["upper(level) = 'CRITICAL'", /function UPPER/],
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
