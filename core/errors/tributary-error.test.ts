import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ERROR_CODES } from './codes.ts';
import { TributaryError, toTributaryError } from './tributary-error.ts';

describe('TributaryError', () => {
  test('carries its code, message, status and IoT Hub code from the table', () => {
    const err = new TributaryError('DeviceNotFound', 'no device "d1"; register it first');
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'TributaryError');
    assert.equal(err.code, 'DeviceNotFound');
    assert.equal(err.message, 'no device "d1"; register it first');
    assert.equal(err.status, 404);
    assert.equal(err.iotHubCode, 404001);
    assert.equal(err.retriable, false);
    assert.match(err.stack ?? '', /tributary-error\.test\.ts/);
  });

  test('status and IoT Hub code follow the table for every code', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      const err = new TributaryError(code as keyof typeof ERROR_CODES, 'm');
      assert.equal(err.status, spec.status, code);
      assert.equal(err.iotHubCode, 'iotHubCode' in spec ? spec.iotHubCode : undefined, code);
      assert.equal(err.retriable, spec.retriable, code);
    }
  });

  test('codes without an IoT Hub number have none', () => {
    const err = new TributaryError('StoreUnavailable', 'db down');
    assert.equal(err.status, 503);
    assert.equal(err.iotHubCode, undefined);
    assert.equal(err.retriable, true);
  });

  test('retriable can be overridden per error; cause and details are kept', () => {
    const cause = new Error('socket closed');
    const err = new TributaryError('StoreUnavailable', 'closed', { retriable: false, cause, details: { where: 'x' } });
    assert.equal(err.retriable, false);
    assert.equal(err.cause, cause);
    assert.deepEqual(err.details, { where: 'x' });
    assert.equal(new TributaryError('ArgumentInvalid', 'm').cause, undefined);
    assert.equal(new TributaryError('ArgumentInvalid', 'm').details, undefined);
  });

  test('toIotHubBody uses IoT Hub\'s numeric code, or the code name when IoT Hub has none', () => {
    assert.deepEqual(new TributaryError('PreconditionFailed', 'etag mismatch').toIotHubBody(), { errorCode: 412001, message: 'etag mismatch' });
    assert.deepEqual(new TributaryError('SchemaIncompatible', 'field removed').toIotHubBody(), { errorCode: 'SchemaIncompatible', message: 'field removed' });
  });
});

describe('toTributaryError', () => {
  test('keeps a TributaryError as it is', () => {
    const err = new TributaryError('ThrottlingException', 'slow down');
    assert.equal(toTributaryError(err), err);
    assert.equal(toTributaryError(err, 'ProcessingFailed'), err);
  });

  test('keeps a known code carried by a foreign error (e.g. across a worker boundary)', () => {
    const foreign = Object.assign(new Error('gone'), { code: 'DeviceNotFound' });
    const err = toTributaryError(foreign);
    assert.equal(err.code, 'DeviceNotFound');
    assert.equal(err.message, 'gone');
    assert.equal(err.cause, foreign);
  });

  test('falls back for unknown codes and non-errors', () => {
    const errno = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(toTributaryError(errno).code, 'ServerError');
    assert.equal(toTributaryError(errno, 'LogUnavailable').code, 'LogUnavailable');
    const fromString = toTributaryError('boom', 'ProcessingFailed');
    assert.equal(fromString.code, 'ProcessingFailed');
    assert.equal(fromString.message, 'boom');
    assert.equal(toTributaryError({ code: 'toString' }).code, 'ServerError');
  });
});
