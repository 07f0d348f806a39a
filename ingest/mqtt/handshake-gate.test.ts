import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { createCertificateAuthority, issueCertificate } from '../../core/tls/index.ts';
import { HandshakeGate, gateTlsServer } from './handshake-gate.ts';

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
