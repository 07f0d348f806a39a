import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
// Default imports: the SDKs are CommonJS whose re-exports node's ESM loader cannot see as named exports.
import common from 'azure-iot-common';
import deviceSdk from 'azure-iot-device';
import deviceSas from 'azure-iot-device/dist/shared_access_signature.js';
import serviceSas from 'azure-iothub/dist/shared_access_signature.js';
import { TributaryError } from '../errors/index.ts';
import { createSasToken, deviceResourceUri, parseSasToken, resourceCovers, strictUriEncode, verifySasToken } from './sas.ts';

const { SharedAccessSignature, encodeUriComponentStrict } = common;
const { SharedAccessKeyAuthenticationProvider } = deviceSdk;

const key = (): string => randomBytes(32).toString('base64');
const SE = 1_900_000_000; // 2030-03-17: in the future for every vector below
const NOW = 1_800_000_000;

function rejects(fn: () => void, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof TributaryError && err.code === 'IotHubUnauthorizedAccess' && pattern.test(err.message));
}

describe('strictUriEncode', () => {
  test('matches azure-iot-common encodeUriComponentStrict, including lower-case hex for !\'()*', () => {
    for (const s of ['localhost/devices/dev1', "a!b'c(d)e*f", 'dev%1 ü+=&?#', 'host:8883/devices/x@y$z', '']) {
      assert.equal(strictUriEncode(s), encodeUriComponentStrict(s), s);
    }
    assert.equal(strictUriEncode('*'), '%2a');
    assert.equal(strictUriEncode('/'), '%2F');
  });
});

describe('createSasToken is byte-identical to the SDKs', () => {
  const ids = ['dev1', 'Dev-With.Chars_(1)*!', "o'brien:=@$,", 'ü-device'];

  test('device tokens: azure-iot-device create(host, deviceId, key, expiry)', () => {
    for (const id of ids) {
      const k = key();
      const ours = createSasToken({ resourceUri: deviceResourceUri('hub.example.net', id), key: k, expiresAt: SE });
      assert.equal(ours, deviceSas.create('hub.example.net', id, k, SE).toString());
      assert.equal(ours, SharedAccessSignature.create(encodeUriComponentStrict(`hub.example.net/devices/${id}`), '', k, SE).toString());
    }
  });

  test('module tokens and device tokens with SharedAccessKeyName, through the SDK authentication provider', async () => {
    for (const [moduleId, keyName] of [[undefined, undefined], ['mod(1)', undefined], [undefined, 'device'], ['m', 'my policy*']] as const) {
      const k = key();
      const cs = `HostName=localhost;DeviceId=dev!1;${moduleId ? `ModuleId=${moduleId};` : ''}${keyName ? `SharedAccessKeyName=${keyName};` : ''}SharedAccessKey=${k}`;
      const provider = SharedAccessKeyAuthenticationProvider.fromConnectionString(cs);
      try {
        const creds = await provider.getDeviceCredentials();
        const sdkToken = String(creds.sharedAccessSignature);
        const se = Number(/se=(\d+)/.exec(sdkToken)?.[1]);
        const ours = createSasToken({ resourceUri: deviceResourceUri('localhost', 'dev!1', moduleId), key: k, expiresAt: se, ...(keyName ? { keyName } : {}) });
        assert.equal(ours, sdkToken);
        assert.ok(sdkToken.startsWith(`SharedAccessSignature sr=localhost%2Fdevices%2Fdev%211${moduleId ? `%2Fmodules%2F${moduleId.replace('(', '%28').replace(')', '%29')}` : ''}&sig=`), sdkToken);
        assert.equal(sdkToken.includes('&skn='), keyName !== undefined);
      } finally {
        provider.stop();
      }
    }
  });

  test('service tokens: azure-iothub create(host, policy, key, expiry) — sr is the raw host, skn the policy', () => {
    for (const policy of ['iothubowner', 'registryReadWrite', 'odd name(1)']) {
      const k = key();
      const ours = createSasToken({ resourceUri: 'hub.example.net', key: k, keyName: policy, expiresAt: SE });
      assert.equal(ours, serviceSas.create('hub.example.net', policy, k, SE).toString());
      assert.match(ours, /^SharedAccessSignature sr=hub\.example\.net&sig=[^&]+&skn=[^&]+&se=1900000000$/);
    }
  });

  test('DPS-style raw sr (slashes not encoded) with encodeResourceUri: false', () => {
    const k = key();
    const ours = createSasToken({ resourceUri: '0ne000A1B2C/registrations/reg-1', key: k, keyName: 'registration', expiresAt: SE, encodeResourceUri: false });
    assert.equal(ours, SharedAccessSignature.create('0ne000A1B2C/registrations/reg-1', 'registration', k, SE).toString());
    verifySasToken(parseSasToken(ours), [k], NOW);
  });
});

describe('parseSasToken', () => {
  test('reads every field, with or without the scheme, in any order; keeps sr literal and decodes the rest', () => {
    const t = parseSasToken('SharedAccessSignature sr=h%2Fdevices%2Fd%2a&sig=ab%2Bc%3D&skn=my%20key&se=1900000000');
    assert.deepEqual({ ...t }, { raw: t.raw, sr: 'h%2Fdevices%2Fd%2a', resource: 'h/devices/d*', signature: 'ab+c=', expiresAt: 1900000000, keyName: 'my key' });
    const reordered = parseSasToken('se=1900000000&skn=my%20key&sig=ab%2Bc%3D&sr=h%2Fdevices%2Fd%2a');
    assert.equal(reordered.sr, t.sr);
    assert.equal(reordered.signature, t.signature);
    assert.equal(parseSasToken('sr=h&sig=x&se=5').keyName, undefined);
  });

  test('malformed tokens are IotHubUnauthorizedAccess', () => {
    const bad: Array<[string, RegExp]> = [
      ['', /empty/],
      ['SharedAccessSignature sig=x&se=1', /sr is missing/],
      ['SharedAccessSignature sr=h&se=1', /sig is missing/],
      ['SharedAccessSignature sr=h&sig=x', /se is missing/],
      ['SharedAccessSignature sr=h&sig=x&se=soon', /se 'soon'/],
      ['SharedAccessSignature sr=h&sig=x&se=0123', /se '0123'/],
      ['SharedAccessSignature sr=h&sig=x&se=99999999999999999999', /epoch seconds/],
      ['SharedAccessSignature sr=h&sr=i&sig=x&se=1', /sr appears twice/],
      ['SharedAccessSignature sr=%E0%A4%A&sig=x&se=1', /sr is not valid URL encoding/],
      ['SharedAccessSignature sr=h&sig=x&se=1&junk', /not a name=value/],
      ['SharedAccessSignature sr=h sig=x&se=1', /white space/],
    ];
    for (const [token, why] of bad) rejects(() => parseSasToken(token), why);
  });
});

describe('verifySasToken', () => {
  const k = key();
  const other = key();
  const device = createSasToken({ resourceUri: 'localhost/devices/dev1', key: k, expiresAt: SE });

  test('accepts SDK-made device, module and service tokens with either key', () => {
    verifySasToken(parseSasToken(deviceSas.create('localhost', 'dev1', k, SE).toString()), [other, k], NOW);
    verifySasToken(parseSasToken(serviceSas.create('localhost', 'iothubowner', k, SE).toString()), [k, other], NOW);
    const moduleToken = SharedAccessSignature.create(encodeUriComponentStrict('localhost/devices/d/modules/m'), '', k, SE).toString();
    verifySasToken(parseSasToken(moduleToken), [k], NOW);
  });

  test('rejects a forged signature, another key, an altered sr, an altered se, and an expired token', () => {
    const t = parseSasToken(device);
    rejects(() => verifySasToken({ ...t, signature: createHmacLike(t.signature) }, [k], NOW), /does not match/);
    rejects(() => verifySasToken(t, [other], NOW), /does not match/);
    rejects(() => verifySasToken(t, [], NOW), /does not match/);
    rejects(() => verifySasToken(parseSasToken(device.replace('dev1', 'dev2')), [k], NOW), /does not match/);
    // The signature covers sr as written: the same resource, spelled differently (lower-case, unencoded), fails.
    rejects(() => verifySasToken(parseSasToken(device.replace('localhost%2Fdevices%2Fdev1', 'localhost/devices/dev1')), [k], NOW), /does not match/);
    rejects(() => verifySasToken(parseSasToken(device.replace('se=1900000000', 'se=1900000001')), [k], NOW), /does not match/);
    rejects(() => verifySasToken(t, [k], SE + 1), /expired at 2030-03-17/);
    verifySasToken(t, [k], SE); // still valid in its last second
  });
});

/** Flips one base64 character of a signature, keeping its length. */
function createHmacLike(signature: string): string {
  const c = signature[0] === 'A' ? 'B' : 'A';
  return c + signature.slice(1);
}

describe('resourceCovers', () => {
  test('case-insensitive, whole segments, prefix', () => {
    assert.equal(resourceCovers('localhost', 'localhost'), true);
    assert.equal(resourceCovers('LocalHost/', 'localhost'), true);
    assert.equal(resourceCovers('localhost/devices/dev1', 'LOCALHOST/devices/DEV1'), true);
    assert.equal(resourceCovers('localhost/devices/dev1', 'localhost/devices/dev1/modules/m1'), true);
    assert.equal(resourceCovers('localhost/devices/dev1', 'localhost/devices/dev10'), false);
    assert.equal(resourceCovers('localhost/devices/dev1/modules/m1', 'localhost/devices/dev1'), false);
    assert.equal(resourceCovers('localhost/devices/dev1', 'localhost'), false);
    assert.equal(resourceCovers('otherhost', 'localhost'), false);
    assert.equal(resourceCovers('local', 'localhost'), false);
    assert.equal(resourceCovers('', 'localhost'), false);
  });
});
