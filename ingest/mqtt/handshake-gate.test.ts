import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { createCertificateAuthority, issueCertificate } from '../../core/tls/index.ts';
import { GATED_TLS_SERVER_OPTIONS, HandshakeGate, gateTlsServer } from './handshake-gate.ts';

/** Just enough of a net.Socket for the gate: events, pause/unshift, destroy, setTimeout. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  paused = false;
  readonly unshifted: Buffer[] = [];
  constructor(readonly name: string) {
    super();
  }
  pause() {
    this.paused = true;
    return this;
  }
  unshift(chunk: Buffer) {
    this.unshifted.unshift(chunk);
  }
  destroy() {
    this.destroyed = true;
    this.emit('close');
    return this;
  }
  setTimeout() {
    return this;
  }
}

function gate(maxActive: number, clock: () => number) {
  const started: string[] = [];
  const g = new HandshakeGate({ maxActive, slotMs: 2000, firstBytesTimeoutMs: 120_000, clock, start: (s) => started.push((s as unknown as FakeSocket).name) });
  const enter = (name: string, data = true) => {
    const s = new FakeSocket(name);
    g.enter(s as unknown as Socket);
    if (data) s.emit('data', Buffer.from(name));
    return s;
  };
  return { g, started, enter };
}

test('at most maxActive handshakes run; the others start in arrival order as slots free up', () => {
  const { g, started, enter } = gate(2, () => 0);
  for (const name of ['a', 'b', 'c', 'd']) enter(name);
  assert.deepEqual(started, ['a', 'b']);
  assert.equal(g.queued, 2);
  g.done();
  assert.deepEqual(started, ['a', 'b', 'c']);
  g.done();
  g.done();
  assert.deepEqual(started, ['a', 'b', 'c', 'd']);
  assert.equal(g.queued, 0);
});

test('a connection waits for its first bytes, which go back into its read buffer before the handshake starts', () => {
  const { started, enter } = gate(1, () => 0);
  const silent = enter('silent', false);
  const talker = enter('talker');
  assert.deepEqual(started, ['talker']);
  assert.deepEqual(talker.unshifted.map(String), ['talker']);
  assert.equal(talker.paused, true);
  assert.equal(silent.listenerCount('data'), 1);
});

test('a connection that hangs up while it waits is skipped', () => {
  const { g, started, enter } = gate(1, () => 0);
  enter('a');
  const b = enter('b');
  enter('c');
  b.emit('end');
  assert.equal(b.destroyed, true);
  g.done();
  assert.deepEqual(started, ['a', 'c']);
});

test('a slot whose handshake never reports back is reclaimed after slotMs', () => {
  let now = 0;
  const { g, started, enter } = gate(1, () => now);
  enter('stuck');
  enter('next');
  assert.deepEqual(started, ['stuck']);
  now = 1999;
  enter('later');
  assert.deepEqual(started, ['stuck']);
  now = 2000;
  enter('last');
  assert.deepEqual(started, ['stuck', 'next']);
  g.close();
});

test('close destroys the waiting connections and refuses new ones', () => {
  const { g, enter } = gate(1, () => 0);
  enter('a');
  const b = enter('b');
  g.close();
  assert.equal(b.destroyed, true);
  assert.equal(enter('c', false).destroyed, true);
});

test('a gated TLS server completes every handshake, one at a time, with the ClientHello read before the gate', async () => {
  const ca = await createCertificateAuthority({ commonName: 'gate test CA', validityDays: 1 });
  const cert = await issueCertificate({ issuer: ca, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  const server = createServer({ cert: cert.certPem, key: cert.keyPem, requestCert: true, rejectUnauthorized: false }, (socket) => {
    socket.on('data', (d) => socket.write(d));
  });
  const g = gateTlsServer(server, { maxActive: 1 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const clients: TLSSocket[] = [];
  const echoes = await Promise.all(['one', 'two', 'three', 'four'].map((word) => new Promise<string>((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.certPem }, () => c.write(word));
    clients.push(c);
    c.once('data', (d) => resolve(String(d)));
    c.once('error', reject);
  })));
  assert.deepEqual(echoes, ['one', 'two', 'three', 'four']);
  assert.equal(g.active, 0);
  for (const c of clients) c.destroy();
  g.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('a connection not admitted within firstBytesTimeoutMs is closed by the gate\'s deadline check, not by a socket timer', () => {
  let now = 0;
  const started: string[] = [];
  const g = new HandshakeGate({ maxActive: 1, slotMs: 2000, firstBytesTimeoutMs: 10_000, clock: () => now, start: (s) => started.push((s as unknown as FakeSocket).name) });
  const enter = (name: string, data: boolean) => {
    const s = new FakeSocket(name);
    g.enter(s as unknown as Socket);
    if (data) s.emit('data', Buffer.from(name));
    return s;
  };
  const admitted = enter('admitted', true);
  now = 5000;
  const silent = enter('silent', false);
  assert.equal(g.watched, 2, 'the silent one waits for bytes, the admitted one handshakes');
  now = 9999;
  g.checkDeadlines();
  assert.equal(silent.destroyed, false);
  now = 15_000;
  g.checkDeadlines();
  assert.equal(silent.destroyed, true);
  assert.equal(admitted.destroyed, false, 'an admitted connection is under the handshake deadline instead');
  g.done(admitted as unknown as Socket);
  assert.equal(g.watched, 0);
  g.close();
});

test('a gated TLS server closes a handshake that stalls past the deadline and keeps the ones that finished', async () => {
  const ca = await createCertificateAuthority({ commonName: 'gate test CA', validityDays: 1 });
  const cert = await issueCertificate({ issuer: ca, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  const secured: TLSSocket[] = [];
  const server = createServer({ cert: cert.certPem, key: cert.keyPem, ...GATED_TLS_SERVER_OPTIONS }, (socket) => {
    secured.push(socket);
    socket.on('data', (d) => socket.write(d));
  });
  let now = 0;
  const g = gateTlsServer(server, { maxActive: 4, handshakeTimeoutMs: 60_000, clock: () => now });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const good = await new Promise<TLSSocket>((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.certPem }, () => resolve(c));
    c.once('error', reject);
  });
  // A client that sends the start of a ClientHello and then nothing.
  const stalled = netConnect(port, '127.0.0.1', () => stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x50, 0x01])));
  const stalledClosed = new Promise<void>((resolve) => stalled.once('close', () => resolve()));
  stalled.on('error', () => undefined);
  // The stalled one is admitted (its first bytes arrived) and the good one's deadline ended with its handshake.
  for (let i = 0; i < 400 && (secured.length < 1 || g.active < 1 || g.watched !== 1); i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(secured.length, 1);
  assert.equal(g.watched, 1, 'only the stalled handshake has a deadline');
  // What an idle connection keeps: no Timeout on either socket (Node keeps a cleared one), no dead 'connect' listener.
  const tls = secured[0]!;
  const tcp = (tls as unknown as { _parent: Socket })._parent;
  const timeoutOf = (o: object) => (o as Record<symbol, unknown>)[Object.getOwnPropertySymbols(o).find((k) => k.description === 'timeout')!];
  assert.equal(tls.listenerCount('timeout'), 0, 'Node\'s own handshake timer is off');
  assert.equal(timeoutOf(tls) ?? null, null);
  assert.equal(timeoutOf(tcp) ?? null, null);
  assert.equal(tcp.listenerCount('connect'), 0);
  now = 60_000;
  g.checkDeadlines();
  await stalledClosed;
  assert.equal(g.watched, 0);
  const echo = await new Promise<string>((resolve) => {
    good.once('data', (d) => resolve(String(d)));
    good.write('still here');
  });
  assert.equal(echo, 'still here');
  good.destroy();
  g.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
