import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changeOf } from './lifecycle-listener.ts';

test('lifecycle events map to the changes the gateway reacts to', () => {
  const at = Date.now();
  assert.deepEqual(changeOf({ opType: 'deleteDeviceIdentity', deviceId: 'd', operationTime: at }), { deviceId: 'd', kind: 'deleted' });
  assert.deepEqual(changeOf({ opType: 'deleteModuleIdentity', deviceId: 'd', moduleId: 'm', operationTime: at }), { deviceId: 'd', moduleId: 'm', kind: 'deleted' });
  assert.deepEqual(changeOf({ opType: 'updateDeviceIdentity', deviceId: 'd', status: 'disabled', operationTime: at }), { deviceId: 'd', kind: 'disabled' });
  assert.deepEqual(changeOf({ opType: 'updateDeviceIdentity', deviceId: 'd', status: 'enabled', operationTime: at }), { deviceId: 'd', kind: 'updated' });
  assert.deepEqual(changeOf({ opType: 'createDeviceIdentity', deviceId: 'd', moduleId: null, operationTime: at }), { deviceId: 'd', kind: 'updated' });
});
