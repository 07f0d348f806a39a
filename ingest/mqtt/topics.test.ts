import { test } from 'node:test';
import assert from 'node:assert/strict';
import { c2dTopic, desiredPatchTopic, methodRequestTopic, moduleInputTopic, parsePublishTopic, parseSubscriptionTopic, twinResponseTopic } from './topics.ts';

test('telemetry topics of devices and modules (wire §2.2)', () => {
  assert.deepEqual(parsePublishTopic('devices/dev1/messages/events/'), { kind: 'telemetry', address: { deviceId: 'dev1' }, bag: '' });
  assert.deepEqual(parsePublishTopic('devices/dev1/messages/events/%24.mid=1&a=b'), { kind: 'telemetry', address: { deviceId: 'dev1' }, bag: '%24.mid=1&a=b' });
  assert.deepEqual(parsePublishTopic('devices/d/modules/m/messages/events/%24.on=o&k=v/'), { kind: 'telemetry', address: { deviceId: 'd', moduleId: 'm' }, bag: '%24.on=o&k=v/' });
});

test('twin and method topics from devices', () => {
  assert.deepEqual(parsePublishTopic('$iothub/twin/GET/?$rid=abc'), { kind: 'twinGet', requestId: 'abc' });
  assert.deepEqual(parsePublishTopic('$iothub/twin/PATCH/properties/reported/?$rid=r1'), { kind: 'twinPatchReported', requestId: 'r1' });
  assert.deepEqual(parsePublishTopic('$iothub/methods/res/200/?$rid=7'), { kind: 'methodResponse', status: 200, requestId: '7' });
});

test('anything else is not an IoT Hub topic', () => {
  for (const t of ['devices/dev1/messages/devicebound/', 'devices//messages/events/', 'foo/bar', '$iothub/twin/GET/', '$iothub/methods/res/abc/?$rid=1', 'devices/d/modules//messages/events/', '$SYS/x']) {
    assert.equal(parsePublishTopic(t), undefined, t);
  }
});

test('subscription filters', () => {
  assert.deepEqual(parseSubscriptionTopic('devices/dev1/messages/devicebound/#'), { kind: 'c2d', address: { deviceId: 'dev1' } });
  assert.deepEqual(parseSubscriptionTopic('devices/d/modules/m/inputs/#'), { kind: 'inputs', address: { deviceId: 'd', moduleId: 'm' } });
  // Filters are literal (delivery never matches wildcards), so '+' is just an id the namespace check compares.
  assert.deepEqual(parseSubscriptionTopic('devices/+/messages/devicebound/#'), { kind: 'c2d', address: { deviceId: '+' } });
  assert.deepEqual(parseSubscriptionTopic('$iothub/methods/POST/#'), { kind: 'methods' });
  assert.deepEqual(parseSubscriptionTopic('$iothub/twin/res/#'), { kind: 'twinResponses' });
  assert.deepEqual(parseSubscriptionTopic('$iothub/twin/PATCH/properties/desired/#'), { kind: 'desired' });
  for (const f of ['#', 'devices/dev1/messages/events/#', '$iothub/#', 'devices/dev1/messages/devicebound']) {
    assert.equal(parseSubscriptionTopic(f), undefined, f);
  }
});

test('hub→device topics', () => {
  assert.equal(c2dTopic('dev1', { messageId: 'm1', properties: { a: 'b c' } }), 'devices/dev1/messages/devicebound/%24.mid=m1&a=b%20c');
  assert.equal(moduleInputTopic('d', 'm', 'in1', {}), 'devices/d/modules/m/inputs/in1/');
  assert.equal(methodRequestTopic('reboot', 'r 1'), '$iothub/methods/POST/reboot/?$rid=r%201');
  assert.equal(twinResponseTopic(204, 'x', 5), '$iothub/twin/res/204/?$rid=x&$version=5');
  assert.equal(twinResponseTopic(200, 'x'), '$iothub/twin/res/200/?$rid=x');
  assert.equal(desiredPatchTopic(3), '$iothub/twin/PATCH/properties/desired/?$version=3');
});
