import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientId, parseConnectIdentity } from './connect-identity.ts';

test('parses the username the SDK sends (wire §2.1, observed)', () => {
  const username = 'localhost/dev1/?api-version=2021-04-12&model-id=dtmi:com:example:Thermostat;1&DeviceClientType=azure-iot-device%2F1.18.4%20(node%20v20.20.2%3B%20Debian%2012%3B%20x64)%20myproduct%2F1.0';
  const result = parseConnectIdentity('dev1', username);
  assert.deepEqual(result, {
    ok: true,
    identity: {
      hostName: 'localhost', deviceId: 'dev1', apiVersion: '2021-04-12', modelId: 'dtmi:com:example:Thermostat;1',
      clientType: 'azure-iot-device/1.18.4 (node v20.20.2; Debian 12; x64) myproduct/1.0',
    },
  });
});

test('module client id and username', () => {
  const result = parseConnectIdentity('dev1/mod1', 'hub.example/dev1/mod1/?api-version=2021-04-12&DeviceClientType=x');
  assert.ok(result.ok);
  assert.equal(result.identity.moduleId, 'mod1');
  assert.equal(result.identity.hostName, 'hub.example');
});

test('usernames without a query are accepted', () => {
  const result = parseConnectIdentity('dev1', 'localhost/dev1');
  assert.ok(result.ok);
  assert.equal(result.identity.deviceId, 'dev1');
});

test('mismatches and malformed values are refused with a reason', () => {
  const cases: Array<[string, string | undefined]> = [
    ['dev1', 'localhost/dev2/?api-version=2021-04-12'],
    ['dev1/mod1', 'localhost/dev1/?api-version=2021-04-12'],
    ['dev1', 'localhost/dev1/mod1/?api-version=2021-04-12'],
    ['dev1', undefined],
    ['dev1', 'localhost'],
    ['', 'localhost/dev1/'],
    ['a/b/c', 'localhost/a/b/c/'],
  ];
  for (const [clientId, username] of cases) {
    const result = parseConnectIdentity(clientId, username);
    assert.equal(result.ok, false, `${clientId} ${username}`);
    if (!result.ok) assert.ok(result.reason.length > 10);
  }
});

test('parseClientId', () => {
  assert.deepEqual(parseClientId('d'), { deviceId: 'd' });
  assert.deepEqual(parseClientId('d/m'), { deviceId: 'd', moduleId: 'm' });
  assert.equal(parseClientId('d/'), undefined);
});
