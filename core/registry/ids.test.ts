import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TributaryError } from '../errors/index.ts';
import { resolveAuthentication } from './credentials.ts';
import { parseDeviceBody } from './identity-input.ts';
import { checkEtag, etagOf, newGenerationId, normalizeIfMatch, twinEtagOf, validateDeviceId, validateModuleId } from './ids.ts';

const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof TributaryError && e.code === c && (re === undefined || re.test(e.message));

describe('identity ids', () => {
  const valid = ['a', 'dev-1', 'A.b+c%d_e#f*g?h!i(j)k,l:m=n@o$p\'q', 'x'.repeat(128), '$edgeAgent', '0'];
  for (const id of valid) {
    test(`accepts ${JSON.stringify(id.length > 20 ? `${id.slice(0, 20)}…` : id)}`, () => {
      assert.equal(validateDeviceId(id), id);
      assert.equal(validateModuleId(id), id);
    });
  }
  const invalid: Array<[unknown, RegExp]> = [
    ['', /is empty/],
    ['x'.repeat(129), /129 characters long/],
    ['has space', /not allowed/],
    ['slash/inside', /not allowed/],
    ['back\\slash', /not allowed/],
    ['quote"d', /not allowed/],
    ['ümlaut', /not allowed/],
    ['semi;colon', /not allowed/],
    ['<tag>', /not allowed/],
    [42, /not a string/],
    [null, /not a string/],
  ];
  for (const [id, why] of invalid) {
    test(`refuses ${JSON.stringify(id)?.slice(0, 30) ?? String(id)} with ArgumentInvalid naming the id and the rule`, () => {
      assert.throws(() => validateDeviceId(id), (e: unknown) => {
        assert.ok(e instanceof TributaryError);
        assert.equal(e.code, 'ArgumentInvalid');
        assert.match(e.message, why);
        assert.match(e.message, /^device id /);
        assert.match(e.message, /1-128 ASCII letters, digits/);
        return true;
      });
      assert.throws(() => validateModuleId(id), code('ArgumentInvalid', /^module id /));
    });
  }
});

describe('generated values', () => {
  test('generation ids are 18 digits without a leading zero and differ', () => {
    const ids = new Set(Array.from({ length: 50 }, () => newGenerationId()));
    assert.equal(ids.size, 50);
    for (const id of ids) assert.match(id, /^[1-9][0-9]{17}$/);
  });

  test('etags are base64 of the version like IoT Hub ("MA==" first); twin etags base64 of an int64', () => {
    assert.equal(etagOf(0), 'MA==');
    assert.equal(etagOf(1), 'MQ==');
    assert.equal(Buffer.from(etagOf(12345), 'base64').toString(), '12345');
    assert.equal(twinEtagOf(1), 'AAAAAAAAAAE=');
  });

  test('If-Match: quotes and W/ are dropped; * matches anything; a different etag is PreconditionFailed', () => {
    assert.equal(normalizeIfMatch('"MA=="'), 'MA==');
    assert.equal(normalizeIfMatch('W/"MA=="'), 'MA==');
    assert.equal(normalizeIfMatch('MA=='), 'MA==');
    assert.doesNotThrow(() => checkEtag('"*"', 'MQ==', 'x'));
    assert.doesNotThrow(() => checkEtag(undefined, 'MQ==', 'x'));
    assert.doesNotThrow(() => checkEtag('"MQ=="', 'MQ==', 'x'));
    assert.throws(() => checkEtag('"MA=="', 'MQ==', 'device "d"'), code('PreconditionFailed', /device "d" has etag "MQ==", not "MA=="/));
    assert.throws(() => checkEtag('""', 'MQ==', 'x'), code('PreconditionFailed'));
  });
});

describe('body parsing', () => {
  test('read-only fields of any type are ignored; unknown fields too', () => {
    const input = parseDeviceBody({
      deviceId: 'd', generationId: 5, etag: {}, connectionState: 'disconnected', cloudToDeviceMessageCount: '0',
      lastActivityTime: null, whatever: [1], status: 'Disabled',
    }, 'd');
    assert.equal(input.status, 'disabled');
    assert.equal(input.authentication, undefined);
  });

  const wrong: Array<[unknown, RegExp]> = [
    ['text', /^body must be a JSON object/],
    [[1], /^body must be a JSON object .* got an array/],
    [{ deviceId: 'other' }, /^deviceId in the body \("other"\) does not match/],
    [{ status: 5 }, /^status must be "enabled" or "disabled", got number/],
    [{ status: 'paused' }, /^status must be "enabled" or "disabled", got "paused"/],
    [{ statusReason: 'x'.repeat(129) }, /^statusReason must be at most 128/],
    [{ capabilities: { iotEdge: 'yes' } }, /^capabilities\.iotEdge must be a boolean/],
    [{ parentScopes: ['a', 3] }, /^parentScopes\[1\] must be a string/],
    [{ authentication: 'sas' }, /^authentication must be an object/],
    [{ authentication: { type: 'password' } }, /^authentication\.type must be one of sas, selfSigned/],
    [{ authentication: { symmetricKey: { primaryKey: 5 } } }, /^authentication\.symmetricKey\.primaryKey must be a string, got number/],
    [{ authentication: { x509Thumbprint: [] } }, /^authentication\.x509Thumbprint must be an object/],
  ];
  for (const [body, re] of wrong) {
    test(`refuses ${JSON.stringify(body).slice(0, 60)} naming the field`, () => {
      assert.throws(() => parseDeviceBody(body, 'd'), code('ArgumentInvalid', re));
    });
  }

  test('authentication type is inferred as the SDK does, and matched case-insensitively', () => {
    const tp = 'ab'.repeat(20);
    assert.equal(parseDeviceBody({ authentication: { x509Thumbprint: { primaryThumbprint: tp } } }, 'd').authentication?.type, 'selfSigned');
    assert.equal(parseDeviceBody({ authentication: { symmetricKey: { primaryKey: null } } }, 'd').authentication?.type, 'sas');
    assert.equal(parseDeviceBody({ authentication: { type: 'CertificateAuthority' } }, 'd').authentication?.type, 'certificateAuthority');
  });
});

describe('credential resolution', () => {
  const key16 = Buffer.alloc(16, 1).toString('base64');
  const key64 = Buffer.alloc(64, 2).toString('base64');
  const sas = (primaryKey?: string, secondaryKey?: string) =>
    ({ type: 'sas' as const, primaryKey, secondaryKey, primaryThumbprint: undefined, secondaryThumbprint: undefined });

  test('keys of 16 and 64 bytes are kept; 15 or 65 bytes, bad base64 and a lone key are refused', () => {
    assert.deepEqual(resolveAuthentication(sas(key16, key64), undefined), { authType: 'sas', primaryKey: key16, secondaryKey: key64, primaryThumbprint: null, secondaryThumbprint: null });
    assert.throws(() => resolveAuthentication(sas(Buffer.alloc(15).toString('base64'), key16), undefined), code('ArgumentInvalid', /primaryKey decodes to 15 bytes/));
    assert.throws(() => resolveAuthentication(sas(key16, Buffer.alloc(65).toString('base64')), undefined), code('ArgumentInvalid', /secondaryKey decodes to 65 bytes/));
    assert.throws(() => resolveAuthentication(sas('not base64!!', key16), undefined), code('ArgumentInvalid', /primaryKey is not valid base64/));
    assert.throws(() => resolveAuthentication(sas(key16, undefined), undefined), code('ArgumentInvalid', /secondaryKey is empty while the other key is set/));
  });

  test('empty keys are generated on create and kept on update of a sas identity', () => {
    const created = resolveAuthentication(sas(), undefined);
    assert.equal(Buffer.from(created.primaryKey!, 'base64').length, 32);
    assert.notEqual(created.primaryKey, created.secondaryKey);
    assert.deepEqual(resolveAuthentication(sas(), created), created);
    const fromX509 = resolveAuthentication(sas(), { ...created, authType: 'selfSigned', primaryKey: null, secondaryKey: null, primaryThumbprint: 'A'.repeat(40) });
    assert.equal(fromX509.authType, 'sas');
    assert.equal(Buffer.from(fromX509.primaryKey!, 'base64').length, 32);
    assert.equal(fromX509.primaryThumbprint, null);
  });

  test('selfSigned needs a 40- or 64-hex primary thumbprint, stored upper-case', () => {
    const self = (p?: string, s?: string) => ({ type: 'selfSigned' as const, primaryKey: 'ignored', secondaryKey: undefined, primaryThumbprint: p, secondaryThumbprint: s });
    const r = resolveAuthentication(self('ab'.repeat(20), 'cd'.repeat(32)), undefined);
    assert.deepEqual(r, { authType: 'selfSigned', primaryKey: null, secondaryKey: null, primaryThumbprint: 'AB'.repeat(20), secondaryThumbprint: 'CD'.repeat(32) });
    assert.throws(() => resolveAuthentication(self(undefined, 'ab'.repeat(20)), undefined), code('ArgumentInvalid', /primaryThumbprint is required/));
    assert.throws(() => resolveAuthentication(self('ab'.repeat(21)), undefined), code('ArgumentInvalid', /40 \(SHA-1\) or 64 \(SHA-256\) hex characters, got 42/));
    assert.throws(() => resolveAuthentication(self('zz'.repeat(20)), undefined), code('ArgumentInvalid'));
  });
});
