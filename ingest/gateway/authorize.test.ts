import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePublishTopic, parseSubscriptionTopic } from '../mqtt/topics.ts';
import { isOwnNamespace, namespaceViolation } from './authorize.ts';

const device = { deviceId: 'dev1' };
const mod = { deviceId: 'dev1', moduleId: 'm1' };

function publishAddress(topic: string) {
  const parsed = parsePublishTopic(topic);
  assert.ok(parsed?.kind === 'telemetry');
  return parsed.address;
}

test('a device publishes and subscribes only as itself', () => {
  assert.equal(isOwnNamespace(device, publishAddress('devices/dev1/messages/events/')), true);
  assert.equal(isOwnNamespace(device, publishAddress('devices/dev2/messages/events/')), false);
  assert.equal(isOwnNamespace(device, publishAddress('devices/DEV1/messages/events/')), false, 'ids are case-sensitive');
  assert.equal(isOwnNamespace(device, publishAddress('devices/dev1/modules/m1/messages/events/')), false, 'not as its module');
  assert.equal(isOwnNamespace(device, parseSubscriptionTopic('devices/dev1/messages/devicebound/#')?.address ?? { deviceId: '' }), true);
  assert.equal(isOwnNamespace(device, parseSubscriptionTopic('devices/dev10/messages/devicebound/#')?.address ?? { deviceId: '' }), false);
});

test('a module uses only its own module topics', () => {
  assert.equal(isOwnNamespace(mod, publishAddress('devices/dev1/modules/m1/messages/events/')), true);
  assert.equal(isOwnNamespace(mod, publishAddress('devices/dev1/modules/m2/messages/events/')), false);
  assert.equal(isOwnNamespace(mod, publishAddress('devices/dev1/messages/events/')), false, 'not as its device');
  assert.equal(isOwnNamespace(mod, parseSubscriptionTopic('devices/dev1/modules/m1/inputs/#')?.address ?? { deviceId: '' }), true);
  assert.equal(isOwnNamespace(mod, parseSubscriptionTopic('devices/dev1/messages/devicebound/#')?.address ?? { deviceId: '' }), false);
  assert.match(namespaceViolation(mod, { deviceId: 'dev2' }), /dev1\/m1 may not use the topics of dev2/);
});
