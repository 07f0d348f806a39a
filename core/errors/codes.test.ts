import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ERROR_CODES, isErrorCode, type ErrorCode, type ErrorCodeSpec } from './codes.ts';
import { ERRORS_DOC_PATH, renderErrorsDoc } from './generate-docs.ts';

const codes = Object.keys(ERROR_CODES) as ErrorCode[];
const spec = (code: ErrorCode): ErrorCodeSpec => ERROR_CODES[code];

/** The rows of docs/errors.md's tables, read back independently of the generator. */
function documentedRows(doc: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const match = /^\| `([A-Za-z0-9]+)` \| (.*) \|$/.exec(line);
    if (!match?.[1] || !match[2]) continue;
    assert.ok(!rows.has(match[1]), `${match[1]} is documented twice`);
    rows.set(match[1], match[2].split(' | '));
  }
  return rows;
}

describe('docs/errors.md and codes.ts', () => {
  const committed = readFileSync(ERRORS_DOC_PATH, 'utf8');

  test('docs/errors.md is generated from the current codes (run: node --import tsx core/errors/generate-docs.ts)', () => {
    assert.equal(committed, renderErrorsDoc(), 'docs/errors.md is stale; regenerate it with core/errors/generate-docs.ts');
  });

  test('every code is documented with its status, IoT Hub code, retriability and description, and nothing else is', () => {
    const rows = documentedRows(committed);
    assert.deepEqual([...rows.keys()].sort(), [...codes].sort());
    for (const code of codes) {
      const [status, iotHubCode, retriable, description] = rows.get(code) ?? [];
      assert.equal(status, String(spec(code).status), `${code} status`);
      assert.equal(iotHubCode, spec(code).iotHubCode === undefined ? '—' : String(spec(code).iotHubCode), `${code} IoT Hub code`);
      assert.equal(retriable, spec(code).retriable ? 'yes' : 'no', `${code} retriable`);
      assert.equal(description, spec(code).description.replace(/\|/g, '\\|'), `${code} description`);
    }
  });
});

describe('the code table itself', () => {
  test('statuses are HTTP error statuses and IoT Hub codes start with their status, each used once', () => {
    const seen = new Set<number>();
    for (const code of codes) {
      const { status, iotHubCode } = spec(code);
      assert.ok(status >= 400 && status <= 599, `${code}: status ${status}`);
      if (iotHubCode === undefined) continue;
      assert.equal(Math.floor(iotHubCode / 1000), status, `${code}: IoT Hub code ${iotHubCode} vs status ${status}`);
      assert.ok(!seen.has(iotHubCode), `${code}: IoT Hub code ${iotHubCode} used twice`);
      seen.add(iotHubCode);
    }
  });

  test('every description is a sentence', () => {
    for (const code of codes) assert.match(spec(code).description, /^[A-Z].{10,}\.$/, code);
  });

  test('isErrorCode accepts exactly the table\'s codes', () => {
    for (const code of codes) assert.ok(isErrorCode(code));
    for (const other of ['toString', 'constructor', 'deviceNotFound', '404001', 404001, undefined, null]) assert.ok(!isErrorCode(other), String(other));
  });
});
