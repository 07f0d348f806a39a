import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFailure, clickHouseErrorCode, describeFailure } from './clickhouse-errors.ts';

const withCode = (message: string, code?: string) => Object.assign(new Error(message), code === undefined ? {} : { code });

describe('ClickHouse failures', () => {
  it('reads the code from 18.16 messages, which the client leaves unparsed', () => {
    const err = withCode('Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected " before: x, e.what() = DB::Exception');
    assert.equal(clickHouseErrorCode(err), 27);
    assert.equal(classifyFailure(err), 'data');
    assert.equal(describeFailure(err), 'Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected " before: x');
  });

  it('reads the code the client parsed from current servers', () => {
    assert.equal(clickHouseErrorCode(withCode('Table iot.messages does not exist.', '60')), 60);
    assert.equal(classifyFailure(withCode('Table iot.messages does not exist.', '60')), 'schema');
    assert.equal(classifyFailure(withCode('Code: 81. DB::Exception: Database iot does not exist. (UNKNOWN_DATABASE)')), 'schema');
  });

  it('treats network errors and server trouble as transient', () => {
    assert.equal(classifyFailure(withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED')), 'transient');
    assert.equal(classifyFailure(new Error('Timeout error.')), 'transient');
    assert.equal(classifyFailure(withCode('Too many parts (300)', '252')), 'transient');
    assert.equal(classifyFailure('not an error'), 'transient');
    assert.equal(describeFailure(withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED')), 'connect ECONNREFUSED 127.0.0.1:1');
  });
});
