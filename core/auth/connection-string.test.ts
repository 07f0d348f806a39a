import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import common from 'azure-iot-common';
import deviceSdk from 'azure-iot-device';
import iothub from 'azure-iothub';
import { TributaryError } from '../errors/index.ts';
import {
  deviceConnectionString,
  generateSymmetricKey,
  parseConnectionString,
  parseServiceConnectionString,
  serviceConnectionString,
} from './connection-string.ts';

describe('parseConnectionString (wire §1.1)', () => {
  const cases: Array<[string, Record<string, string>]> = [
    ['HostName=h;DeviceId=d;SharedAccessKey=abc=', { HostName: 'h', DeviceId: 'd', SharedAccessKey: 'abc=' }],
    // split at the first '=' only: values keep their '=' (base64 padding, tokens)
    ['SharedAccessSignature=SharedAccessSignature sr=h%2Fdevices%2Fd&sig=x%3D&se=1', { SharedAccessSignature: 'SharedAccessSignature sr=h%2Fdevices%2Fd&sig=x%3D&se=1' }],
    // empty names/values and pieces without '=' are dropped; trailing ';' is fine
    ['HostName=h;;DeviceId=;=v;junk;x509=true;', { HostName: 'h', x509: 'true' }],
    // last repeated key wins; keys are case-sensitive; nothing trimmed or decoded
    ['HostName=a;HostName=b;hostname=c; DeviceId = d%20', { HostName: 'b', hostname: 'c', ' DeviceId ': ' d%20' }],
    ['', {}],
  ];
  test('matches azure-iot-common ConnectionString.parse', () => {
    for (const [input, expected] of cases) {
      assert.deepEqual(parseConnectionString(input), expected, input);
      assert.deepEqual({ ...common.ConnectionString.parse(input) }, expected, `SDK: ${input}`);
    }
  });
  test('__proto__ stays a plain key', () => {
    const cs = parseConnectionString('__proto__=x;HostName=h');
    assert.equal(Object.getPrototypeOf(cs), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(cs, '__proto__')?.value, 'x');
  });
  test('parseServiceConnectionString requires all three keys', () => {
    const key = generateSymmetricKey();
    assert.deepEqual(parseServiceConnectionString(`HostName=h;SharedAccessKeyName=iothubowner;SharedAccessKey=${key}`),
      { hostName: 'h', keyName: 'iothubowner', key });
    assert.throws(() => parseServiceConnectionString('HostName=h;SharedAccessKey=k'),
      (e: unknown) => e instanceof TributaryError && e.code === 'ArgumentInvalid' && /SharedAccessKeyName/.test(e.message));
  });
});

describe('building connection strings the SDKs accept', () => {
  test('service connection string parses in azure-iothub', () => {
    const policy = { keyName: 'iothubowner', primaryKey: generateSymmetricKey(), secondaryKey: generateSymmetricKey(), rights: [] };
    const cs = serviceConnectionString({ hostName: 'localhost', policy });
    assert.equal(cs, `HostName=localhost;SharedAccessKeyName=iothubowner;SharedAccessKey=${policy.primaryKey}`);
    const parsed = iothub.ConnectionString.parse(cs);
    assert.equal(parsed.SharedAccessKey, policy.primaryKey);
    assert.doesNotThrow(() => iothub.Registry.fromConnectionString(cs));
  });

  test('device, module, X.509 and gateway connection strings parse in azure-iot-device', () => {
    const key = generateSymmetricKey();
    const plain = deviceConnectionString({ hostName: 'localhost', deviceId: 'dev=1', key });
    assert.equal(plain, `HostName=localhost;DeviceId=dev=1;SharedAccessKey=${key}`);
    assert.equal(deviceSdk.ConnectionString.parse(plain).DeviceId, 'dev=1');

    const mod = deviceConnectionString({ hostName: 'localhost', deviceId: 'd', moduleId: 'm', key, gatewayHostName: 'localhost:18883' });
    assert.deepEqual({ ...deviceSdk.ConnectionString.parse(mod) },
      { HostName: 'localhost', DeviceId: 'd', ModuleId: 'm', SharedAccessKey: key, GatewayHostName: 'localhost:18883' });

    const x509 = deviceConnectionString({ hostName: 'localhost', deviceId: 'd', x509: true });
    assert.equal(x509, 'HostName=localhost;DeviceId=d;x509=true');
    assert.equal(deviceSdk.ConnectionString.parse(x509).x509, 'true');
  });

  test('refuses what cannot round-trip', () => {
    const invalid = (e: unknown) => e instanceof TributaryError && e.code === 'ArgumentInvalid';
    assert.throws(() => deviceConnectionString({ hostName: 'h', deviceId: 'a;b', key: 'k' }), invalid);
    assert.throws(() => deviceConnectionString({ hostName: 'h', deviceId: 'd' }), invalid);
    assert.throws(() => deviceConnectionString({ hostName: 'h', deviceId: 'd', key: 'k', x509: true }), invalid);
    assert.throws(() => deviceConnectionString({ hostName: '', deviceId: 'd', key: 'k' }), invalid);
  });

  test('generateSymmetricKey: base64 of 32 random bytes', () => {
    const a = generateSymmetricKey();
    assert.equal(Buffer.from(a, 'base64').length, 32);
    assert.equal(Buffer.from(a, 'base64').toString('base64'), a);
    assert.notEqual(a, generateSymmetricKey());
  });
});
