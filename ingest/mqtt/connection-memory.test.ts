/**
 * What an idle connection keeps (issue 5: ≤ 20 KB per idle TLS connection): the transport listeners are shared, not
 * closures per connection; the server learns of a close through one shared hook; admitted handshakes leave nothing of
 * the gate on the socket; mqtt-packet builds no 65,536-Buffer number cache.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { writeToStream } from 'mqtt-packet';
import pino from 'pino';
import type { Gateway } from '../gateway/gateway.ts';
import { MqttConnection, type ConnectionContext } from './connection.ts';
import { HandshakeGate } from './handshake-gate.ts';
import { encodePacket } from './packet-reader.ts';

const ctx = (onClosed: (c: MqttConnection) => void): ConnectionContext => ({
  gateway: {} as Gateway, protocol: 'Mqtt', logger: pino({ level: 'silent' }), connectTimeoutMs: 30_000, onClosed,
});

test('connections share their transport listeners and report their close once', () => {
  const closed: MqttConnection[] = [];
  const c = ctx((conn) => closed.push(conn));
  const a = new MqttConnection(new PassThrough(), c, { remoteAddress: '127.0.0.2' });
  const b = new MqttConnection(new PassThrough(), c, { remoteAddress: '127.0.0.3' });
  for (const event of ['data', 'error', 'close', 'end']) {
    assert.equal(a.stream.listenerCount(event), 1, event);
    assert.equal(a.stream.listeners(event)[0], b.stream.listeners(event)[0], `${event} listener is shared`);
  }
  a.stream.emit('end');
  a.close('again');
  assert.deepEqual(closed, [a]);
  assert.equal(a.closed, true);
  assert.equal(b.closed, false);
  b.close('test over');
  assert.deepEqual(closed, [a, b]);
});

test('an admitted handshake leaves no gate listener or buffered bytes behind', async () => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const started: Socket[] = [];
  const gate = new HandshakeGate({ maxActive: 4, slotMs: 2000, firstBytesTimeoutMs: 60_000, start: (s) => started.push(s) });
  server.on('connection', (s: Socket) => gate.enter(s));
  const client = connect(port, '127.0.0.1');
  client.write(Buffer.from('client hello'));
  while (started.length === 0) await new Promise((r) => setTimeout(r, 5));
  const socket = started[0]!;
  assert.equal(socket.listenerCount('timeout'), 0);
  assert.equal(socket.listenerCount('data'), 0);
  assert.equal(socket.listenerCount('end'), client.listenerCount('end'), 'only net.Socket\'s own end listener');
  assert.equal(socket.read()?.toString(), 'client hello', 'the first bytes are back in the read buffer');
  gate.close();
  client.destroy();
  socket.destroy();
  server.close();
});

test('packets are encoded without mqtt-packet\'s number cache', () => {
  assert.equal(writeToStream.cacheNumbers, false);
  assert.deepEqual([...encodePacket({ cmd: 'suback', messageId: 0x1234, granted: [1] })], [0x90, 0x03, 0x12, 0x34, 0x01]);
});

const identity = { deviceId: 'dev-mem', generationId: 'g', authMethod: { scope: 'device', type: 'sas' }, authMethodJson: '{}' } as const;
const connectedCtx = (): ConnectionContext => ({
  gateway: { connections: { unregister() {} }, touch() {} } as unknown as Gateway, protocol: 'Mqtt', logger: pino({ level: 'silent' }), connectTimeoutMs: 30_000,
});

test('a connected device keeps no copy of its client certificate and no telemetry topic until it publishes', () => {
  const cert = { leafPem: '-----BEGIN CERTIFICATE-----…', intermediatePems: [] };
  const conn = new MqttConnection(new PassThrough(), connectedCtx(), { remoteAddress: '127.0.0.2', clientCertificate: cert });
  conn.startSession({ ...identity, authMethod: { scope: 'device', type: 'x509Certificate', issuer: 'self' } }, 60);
  assert.equal(conn.transport.clientCertificate, undefined);
  assert.equal((conn as unknown as { ownEventsTopic?: string }).ownEventsTopic, undefined);
  assert.equal(conn.telemetryPrefix, 'devices/dev-mem/messages/events/');
  const module = new MqttConnection(new PassThrough(), connectedCtx(), { remoteAddress: '127.0.0.2' });
  module.startSession({ ...identity, moduleId: 'm1' }, 60);
  assert.equal(module.telemetryPrefix, undefined, 'modules have no device telemetry fast path');
  conn.close('test over');
  module.close('test over');
});

test('the shared sweep closes a device silent for 1.5 × its keep-alive, not before', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  const conn = new MqttConnection(new PassThrough(), connectedCtx(), { remoteAddress: '127.0.0.2' });
  conn.startSession(identity, 60);
  conn.sweep(1_000_000 + 89_000);
  assert.equal(conn.closed, false, 'within 1.5 × 60 s');
  t.mock.timers.tick(60_000);
  conn.onPacket({ cmd: 'pingreq' } as never);
  conn.sweep(1_000_000 + 91_000);
  assert.equal(conn.closed, false, 'the PINGREQ at 60 s moved the deadline to 150 s');
  conn.sweep(1_000_000 + 150_000);
  assert.equal(conn.closed, true);
  t.mock.timers.reset();
});
