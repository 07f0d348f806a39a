/**
 * What the service API refuses, and how: every bad request gets IoT Hub's status and `ErrorCode:<name>;` body and
 * leaves the registry as it was. Tokens are made with the official SDK's own generator.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import iothub from 'azure-iothub';
import { startTestHub, type TestHub } from '../support/test-hub.ts';
import { uniqueName } from '../support/services.ts';

const { SharedAccessSignature } = iothub;
let testHub: TestHub;
let ownerKey: string;
let readKey: string;

before(async () => {
  testHub = await startTestHub();
  ownerKey = (await testHub.hub.registry.getPolicy('iothubowner'))!.primaryKey;
  readKey = (await testHub.hub.registry.getPolicy('registryRead'))!.primaryKey;
});
after(() => testHub?.close());

const nowS = () => Math.ceil(Date.now() / 1000);
const token = (policy: string, key: string, options: { host?: string; expiry?: number } = {}) =>
  SharedAccessSignature.create(options.host ?? 'localhost', policy, key, options.expiry ?? nowS() + 600).toString();

async function call(method: string, path: string, auth: string | undefined, body?: string, contentType = 'application/json; charset=utf-8') {
  const response = await fetch(`https://localhost:${testHub.hub.httpsPort}${path}${path.includes('?') ? '&' : '?'}api-version=2021-04-12`, {
    method,
    headers: { ...(auth ? { authorization: auth } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}) },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function deviceCount(): Promise<number> {
  return (await testHub.hub.registry.statistics()).totalDeviceCount;
}

test('refusals carry IoT Hub status codes and error names, and change nothing', async () => {
  const before = await deviceCount();
  const id = uniqueName('neg');
  const create = (auth: string | undefined, body = JSON.stringify({ deviceId: id })) => call('PUT', `/devices/${id}`, auth, body);

  const forged = token('iothubowner', Buffer.from('not the key').toString('base64'));
  const cases: Array<[string, Promise<{ status: number; body: Record<string, unknown> }>, number, string]> = [
    ['no token', create(undefined), 401, 'IotHubUnauthorizedAccess'],
    ['forged signature', create(forged), 401, 'IotHubUnauthorizedAccess'],
    ['expired token', create(token('iothubowner', ownerKey, { expiry: nowS() - 10 })), 401, 'IotHubUnauthorizedAccess'],
    ['wrong resource', create(token('iothubowner', ownerKey, { host: 'other-hub.example' })), 401, 'IotHubUnauthorizedAccess'],
    ['unknown policy', create(token('nobody', ownerKey)), 401, 'IotHubUnauthorizedAccess'],
    ['read-only policy writing', create(token('registryRead', readKey)), 401, 'IotHubUnauthorizedAccess'],
    ['malformed JSON', create(token('iothubowner', ownerKey), '{"deviceId": '), 400, 'ArgumentInvalid'],
    ['oversized body', create(token('iothubowner', ownerKey), JSON.stringify({ deviceId: id, pad: 'x'.repeat(2 * 1024 * 1024) })), 413, 'MessageTooLarge'],
    ['invalid device id', call('PUT', `/devices/${encodeURIComponent('bad/id{')}`, token('iothubowner', ownerKey), '{}'), 400, 'ArgumentInvalid'],
    ['bad api-version', call('GET', '/devices?api-version=yesterday', token('iothubowner', ownerKey)), 400, 'InvalidProtocolVersion'],
  ];
  for (const [name, pending, status, code] of cases) {
    const { status: got, body } = await pending;
    assert.equal(got, status, `${name}: status`);
    assert.match(String(body.Message), new RegExp(`^ErrorCode:${code};`), `${name}: error body ${JSON.stringify(body)}`);
  }
  assert.equal(await deviceCount(), before, 'no refused request created anything');

  // The read-only policy may read.
  const listed = await call('GET', '/devices', token('registryRead', readKey));
  assert.equal(listed.status, 200);
});

test('the OpenAPI document describes the device routes', async () => {
  const response = await fetch(`https://localhost:${testHub.hub.httpsPort}/openapi.json`);
  assert.equal(response.status, 200);
  const doc = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
  assert.match(doc.openapi, /^3\./);
  assert.ok(doc.paths['/devices/{deviceId}'], 'device path documented');
  assert.ok(doc.paths['/devices/{deviceId}/modules/{moduleId}'], 'module path documented');
});
