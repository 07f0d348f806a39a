/**
 * PacketReader's framing: any split of the byte stream gives the same packets, the size cap is checked from the fixed
 * header alone, malformed input is reported once and ends parsing, and the packets it decodes itself have the fields
 * mqtt-packet's parser gives (publish-decode.test.ts compares them on random PUBLISH packets).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generate, type IConnectPacket, type Packet } from 'mqtt-packet';
import { MalformedPacketError, PacketReader, PacketTooLargeError } from './packet-reader.ts';
import { comparablePacket } from '../testing/comparable-packet.ts';

const connect4: IConnectPacket = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'dev1', clean: true, keepalive: 60, username: 'h/dev1/?api-version=2021-04-12', password: Buffer.from('sas') };
const connect5: IConnectPacket = { ...connect4, protocolVersion: 5 };
const topic = 'devices/dev1/messages/events/a=1&%24.ct=application%2Fjson';

function reader(maxPacketBytes?: number): { r: PacketReader; packets: Packet[]; errors: Error[] } {
  const packets: Packet[] = [];
  const errors: Error[] = [];
  const r = new PacketReader({ onPacket: (p) => packets.push(p), onMalformed: (e) => errors.push(e) }, maxPacketBytes);
  return { r, packets, errors };
}

function read(chunks: Buffer[], maxPacketBytes?: number): { packets: Packet[]; errors: Error[]; partial: unknown } {
  const { r, packets, errors } = reader(maxPacketBytes);
  for (const c of chunks) r.push(c);
  return { packets, errors, partial: Reflect.get(r, 'partial') };
}

function splits(stream: Buffer, sizes: (i: number) => number): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0, i = 0; pos < stream.length; i++) {
    const n = Math.max(1, sizes(i));
    out.push(stream.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

const stream4 = Buffer.concat([
  generate(connect4),
  generate({ cmd: 'publish', topic, payload: Buffer.from('{"t":21.5}'), qos: 1, messageId: 7, retain: false, dup: false }),
  generate({ cmd: 'puback', messageId: 3 }),
  generate({ cmd: 'pingreq' }),
  generate({ cmd: 'subscribe', messageId: 8, subscriptions: [{ topic: 'devices/dev1/messages/devicebound/#', qos: 1 }] }),
  // 3-byte Remaining Length
  generate({ cmd: 'publish', topic, payload: Buffer.alloc(20_000, 7), qos: 0, retain: true, dup: false }),
  generate({ cmd: 'unsubscribe', messageId: 9, unsubscriptions: ['devices/dev1/messages/devicebound/#'] }),
  generate({ cmd: 'publish', topic: 'devices/dev1/messages/events/', payload: Buffer.alloc(0), qos: 1, messageId: 65535, retain: false, dup: true }),
  generate({ cmd: 'disconnect' }),
]);

test('any split of the stream gives the same packets: whole, 1-byte chunks, and uneven splits', () => {
  const whole = read([stream4]);
  assert.deepEqual(whole.errors, []);
  assert.deepEqual(whole.packets.map((p) => p.cmd), ['connect', 'publish', 'puback', 'pingreq', 'subscribe', 'publish', 'unsubscribe', 'publish', 'disconnect']);
  const expected = whole.packets.map(comparablePacket);
  for (const [name, sizes] of [['1-byte', () => 1], ['2/3/5/7', (i: number) => [2, 3, 5, 7][i % 4]!], ['4096', () => 4096], ['header-split', (i: number) => (i % 2 === 0 ? 1 : 33)]] as const) {
    const r = read(splits(stream4, sizes));
    assert.deepEqual(r.errors, [], name);
    assert.deepEqual(r.packets.map(comparablePacket), expected, name);
    assert.equal(r.partial, undefined, `${name}: nothing kept between packets`);
  }
});

test('the packets are the ones mqtt-packet sends: publish fields, QoS 2 still a publish, and a partial frame kept only while incomplete', () => {
  const { packets } = read([stream4]);
  const p = packets[1] as Extract<Packet, { cmd: 'publish' }>;
  assert.deepEqual([p.topic, p.qos, p.messageId, p.retain, p.dup, p.payload.toString()], [topic, 1, 7, false, false, '{"t":21.5}']);
  const big = packets[5] as Extract<Packet, { cmd: 'publish' }>;
  assert.deepEqual([big.qos, big.retain, big.payload.length, big.messageId], [0, true, 20_000, undefined]);
  assert.equal((packets[7] as Extract<Packet, { cmd: 'publish' }>).dup, true);
  assert.equal((packets[2] as Extract<Packet, { cmd: 'puback' }>).messageId, 3);

  const qos2 = generate({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 2, messageId: 11, retain: false, dup: false });
  const r = read([generate(connect4), qos2.subarray(0, 5)]);
  assert.equal(r.packets.length, 1);
  assert.ok(r.partial instanceof Buffer && r.partial.length === qos2.length - 2, 'a small body: one buffer of its Remaining Length');
  const done = read([generate(connect4), qos2.subarray(0, 5), qos2.subarray(5)]);
  const q = done.packets[1] as Extract<Packet, { cmd: 'publish' }>;
  assert.deepEqual([q.cmd, q.qos, q.messageId], ['publish', 2, 11]);
});

test('a large frame split across chunks is gathered in a buffer that grows with the bytes received, not its declared size', () => {
  const big = generate({ cmd: 'publish', topic, payload: Buffer.alloc(300_000, 1), qos: 1, messageId: 2, retain: false, dup: false });
  const { r, packets, errors } = reader();
  r.push(generate(connect4));
  r.push(big.subarray(0, 10));
  assert.ok((Reflect.get(r, 'partial') as Buffer).length <= 16 * 1024);
  for (let pos = 10; pos < big.length; pos += 1000) r.push(big.subarray(pos, pos + 1000));
  assert.deepEqual(errors, []);
  const p = packets[1] as Extract<Packet, { cmd: 'publish' }>;
  assert.equal(p.messageId, 2);
  assert.ok((p.payload as Buffer).equals(Buffer.alloc(300_000, 1)));
  assert.equal(Reflect.get(r, 'partial'), undefined);
});

test('a Remaining Length above the cap fails from the fixed header alone, before any body byte', () => {
  const header = Buffer.from([0x30, 0xd0, 0x0f]); // PUBLISH, Remaining Length 2000
  const r = read([generate(connect4), header], 1000);
  assert.equal(r.packets.length, 1);
  assert.equal(r.errors.length, 1);
  assert.ok(r.errors[0] instanceof PacketTooLargeError);
  // Exactly at the cap is accepted.
  const atCap = generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(1000 - 3), qos: 0, retain: false, dup: false });
  assert.deepEqual(read([atCap], 1000).errors, []);
  assert.ok(read([atCap], 999).errors[0] instanceof PacketTooLargeError);
});

test('a Remaining Length of more than 4 bytes is malformed, reported once, and nothing after it is parsed', () => {
  const bad = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
  const ping = generate({ cmd: 'pingreq' });
  for (const chunks of [[bad, ping], splits(Buffer.concat([bad, ping]), () => 1)]) {
    const r = read([generate(connect4), ...chunks, ping]);
    assert.equal(r.packets.length, 1);
    assert.equal(r.errors.length, 1);
    assert.ok(r.errors[0] instanceof MalformedPacketError);
    assert.match(r.errors[0].message, /variable byte integer/);
  }
});

test('reserved type 0, wrong header flags and QoS 3 are malformed', () => {
  for (const first of [0x00, 0x80 /* SUBSCRIBE needs flags 0010 */, 0x41 /* PUBACK needs 0000 */, 0x36 /* PUBLISH QoS 3 */]) {
    const r = read([generate(connect4), Buffer.from([first, 0x00])]);
    assert.equal(r.errors.length, 1, first.toString(16));
    assert.equal(r.packets.length, 1);
  }
});

test('a topic that is not well-formed UTF-8 is malformed; a well-formed one with U+FFFD is not', () => {
  const publish = (topicBytes: Buffer): Buffer => Buffer.concat([Buffer.from([0x30, topicBytes.length + 3, 0, topicBytes.length]), topicBytes, Buffer.from('x')]);
  for (const bytes of [[0xc3, 0x28], [0xed, 0xa0, 0x80] /* a surrogate */, [0xc0, 0xaf] /* overlong '/' */, [0x61, 0xff]]) {
    const r = read([generate(connect4), publish(Buffer.from(bytes))]);
    assert.equal(r.errors.length, 1, Buffer.from(bytes).toString('hex'));
    assert.match(r.errors[0]!.message, /UTF-8/);
  }
  const ok = read([generate(connect4), publish(Buffer.from('a\uFFFDü/€', 'utf8'))]);
  assert.deepEqual(ok.errors, []);
  assert.equal((ok.packets[1] as Extract<Packet, { cmd: 'publish' }>).topic, 'a\uFFFDü/€');
});

test('a truncated PUBLISH (topic or packet id beyond the frame) is malformed', () => {
  for (const frame of [[0x30, 0x01, 0x00], [0x30, 0x03, 0x00, 0x05, 0x61], [0x32, 0x03, 0x00, 0x01, 0x61]]) {
    const r = read([generate(connect4), Buffer.from(frame)]);
    assert.equal(r.errors.length, 1, Buffer.from(frame).toString('hex'));
  }
});

test('MQTT 5: the CONNECT switches the level; publishes with and without properties, PUBACK and DISCONNECT reason codes', () => {
  const withProps = generate({
    cmd: 'publish', topic, payload: Buffer.from('hi'), qos: 1, messageId: 5, retain: false, dup: false,
    properties: { contentType: 'text/plain', userProperties: { k: 'v' }, messageExpiryInterval: 60 },
  }, { protocolVersion: 5 });
  const without = generate({ cmd: 'publish', topic, payload: Buffer.from('plain'), qos: 0, retain: false, dup: false }, { protocolVersion: 5 });
  const stream = Buffer.concat([
    generate(connect5, { protocolVersion: 5 }), withProps, without,
    generate({ cmd: 'puback', messageId: 4 }, { protocolVersion: 5 }),
    generate({ cmd: 'puback', messageId: 6, reasonCode: 0x10 }, { protocolVersion: 5 }),
    generate({ cmd: 'disconnect', reasonCode: 0x04 }, { protocolVersion: 5 }),
  ]);
  for (const chunks of [[stream], splits(stream, () => 1)]) {
    const { packets, errors } = read(chunks);
    assert.deepEqual(errors, []);
    const [, a, b, ack, ack2, disc] = packets as [unknown, ...Extract<Packet, { cmd: 'publish' }>[]];
    assert.deepEqual(comparablePacket(a!).properties, { contentType: 'text/plain', userProperties: { k: 'v' }, messageExpiryInterval: 60 });
    assert.deepEqual([a!.qos, a!.messageId, a!.payload.toString()], [1, 5, 'hi']);
    assert.deepEqual([b!.properties, b!.payload.toString()], [undefined, 'plain']);
    assert.deepEqual([ack!.cmd, ack!.messageId, (ack as Packet as { reasonCode?: number }).reasonCode], ['puback', 4, 0]);
    assert.equal((ack2 as Packet as { reasonCode?: number }).reasonCode, 0x10);
    assert.deepEqual([disc!.cmd, (disc as Packet as { reasonCode?: number }).reasonCode], ['disconnect', 0x04]);
  }
});

test('the shared mqtt-packet parser keeps nothing of one connection\'s CONNECT for the next connection', () => {
  const v4 = reader();
  v4.r.push(generate(connect4));
  // Another connection's v5 CONNECT goes through the same (level 4) parser in between.
  const v5 = reader();
  v5.r.push(generate(connect5, { protocolVersion: 5 }));
  assert.equal((v5.packets[0] as IConnectPacket).protocolVersion, 5);
  // A 3.1.1 SUBSCRIBE parsed at level 5 would gain nl/rap/rh options.
  v4.r.push(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 1 }] }));
  assert.deepEqual(v4.errors, []);
  assert.deepEqual((v4.packets[1] as Extract<Packet, { cmd: 'subscribe' }>).subscriptions, [{ topic: 'a/#', qos: 1 }]);
  // A malformed CONNECT on one connection leaves the parser clean for the next.
  const bad = read([Buffer.from([0x10, 0x0a, 0x00, 0x04, 0x58, 0x59, 0x5a, 0x57, 0x04, 0x02, 0x00, 0x3c])]);
  assert.equal(bad.errors.length, 1);
  const good = read([generate(connect4)]);
  assert.deepEqual([good.errors, good.packets.map((p) => p.cmd)], [[], ['connect']]);
});
