import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { Log } from '../../core/log/types.ts';
import type { AvroSerde } from '../../core/serde/avro-serde.ts';
import type { ActivityRecorder } from './activity-recorder.ts';
import { ConnectionRegistry } from './connection-registry.ts';
import type { ConnectionHandle, DeviceIdentity } from './types.ts';

test('registering a live connection tells the gateway (which drops the identity\'s cached credentials) and kicks the older one', () => {
  const registered: string[] = [];
  const registry = new ConnectionRegistry({
    nodeId: 'n1', topic: 't', logger: pino({ level: 'silent' }),
    log: { produce: () => Promise.resolve() } as unknown as Log,
    serde: { encode: () => Promise.resolve(Buffer.alloc(0)) } as unknown as AvroSerde,
    recorder: { connectionState() {} } as unknown as ActivityRecorder,
    onRegistered: (identity) => registered.push(identity.moduleId ? `${identity.deviceId}/${identity.moduleId}` : identity.deviceId),
  });
  const identity: DeviceIdentity = { deviceId: 'd1', generationId: 'g', authMethod: { scope: 'device', type: 'sas' }, authMethodJson: '{}' };
  const closed: string[] = [];
  const handle = (id: string, who: DeviceIdentity): ConnectionHandle => ({
    connectionId: id, identity: who, protocol: 'Mqtt', remoteAddress: undefined, modelId: undefined, connectedAt: Date.now(),
    deliver() {}, close: () => void closed.push(id),
  });
  registry.register(handle('c1', identity));
  registry.register(handle('c2', identity));
  registry.register(handle('c3', { ...identity, moduleId: 'm1' }));
  assert.deepEqual(registered, ['d1', 'd1', 'd1/m1']);
  assert.deepEqual(closed, ['c1']);
  assert.equal(registry.size, 2);
});
