/**
 * Differential test of the fast path: random PUBLISH packets (seeded, so a failure reproduces) with PUBACK and PINGREQ
 * between them, encoded by mqtt-packet, split into random chunks, read by PacketReader and by mqtt-packet's own
 * streaming parser; the packets must be equal field by field, for MQTT 3.1.1 and 5.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generate, parser, type IConnectPacket, type IPublishPacket, type Packet } from 'mqtt-packet';
import { PacketReader } from './packet-reader.ts';
import { decodePublish } from './publish-decode.ts';
import { seededRandom } from '../../test/support/seeded-random.ts';
import { comparablePacket } from '../testing/comparable-packet.ts';

const TOPIC_PARTS = ['devices', 'dev-1', 'messages', 'events', '$.ct=application%2Fjson', 'a=b&c=d', 'modules', 'm1', 'ü', '€', '😀', '\uFFFD', ''];

function randomPublish(next: () => number, v5: boolean): IPublishPacket {
  const int = (n: number): number => Math.floor(next() * n);
  const topic = Array.from({ length: 1 + int(6) }, () => TOPIC_PARTS[int(TOPIC_PARTS.length)]!).join('/');
  // Payload sizes around the Remaining Length boundaries (1, 2 and 3 bytes) as well as small ones.
  const size = [0, 1, 100, 120, 130, 16_300, 16_400, 70_000][int(8)]! + int(20);
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i += 97) payload[i] = int(256);
  const qos = int(3) as 0 | 1 | 2;
  const packet: IPublishPacket = { cmd: 'publish', topic, payload, qos, retain: next() < 0.3, dup: qos > 0 && next() < 0.3 };
  if (qos > 0) packet.messageId = 1 + int(65535);
  if (v5 && next() < 0.3) packet.properties = { contentType: 'application/json', userProperties: { k: String(int(100)) }, payloadFormatIndicator: next() < 0.5 };
  return packet;
}

function differential(seed: number, v5: boolean): void {
  const next = seededRandom(seed);
  const opts = { protocolVersion: v5 ? 5 : 4 };
  const connect: IConnectPacket = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: v5 ? 5 : 4, clientId: 'dev-1', clean: true, keepalive: 60 };
  const frames = [generate(connect, opts)];
  for (let i = 0; i < 300; i++) {
    const r = next();
    if (r < 0.8) frames.push(generate(randomPublish(next, v5), opts));
    else if (r < 0.95) frames.push(generate({ cmd: 'puback', messageId: 1 + Math.floor(next() * 65535) }, opts));
    else frames.push(generate({ cmd: 'pingreq' }, opts));
  }
  const stream = Buffer.concat(frames);

  const expected: Packet[] = [];
  const reference = parser(opts);
  reference.on('packet', (p: Packet) => expected.push(p));
  reference.on('error', (err: Error) => assert.fail(`mqtt-packet: ${err.message}`));
  reference.parse(stream);

  const got: Packet[] = [];
  const reader = new PacketReader({ onPacket: (p) => got.push(p), onMalformed: (err) => assert.fail(`PacketReader: ${err.message}`) }, 1 << 20);
  for (let pos = 0; pos < stream.length;) {
    const n = next() < 0.2 ? 1 + Math.floor(next() * 4) : 1 + Math.floor(next() * 40_000);
    reader.push(stream.subarray(pos, pos + n));
    pos += n;
  }

  assert.equal(got.length, frames.length, `seed ${seed}`);
  for (let i = 0; i < got.length; i++) assert.deepEqual(comparablePacket(got[i]!), comparablePacket(expected[i]!), `seed ${seed}, packet ${i}`);
}

test('random PUBLISH/PUBACK/PINGREQ streams at 3.1.1 decode exactly as mqtt-packet decodes them', () => {
  for (let seed = 1; seed <= 20; seed++) differential(seed, false);
});

test('random streams at MQTT 5 (some publishes with properties) decode exactly as mqtt-packet decodes them', () => {
  for (let seed = 101; seed <= 120; seed++) differential(seed, true);
});

test('decodePublish leaves MQTT 5 publishes with properties to mqtt-packet, and decodes those without', () => {
  // These frames are below 128 bytes: the body starts after a 1-byte Remaining Length.
  const decode = (p: IPublishPacket) => {
    const frame = generate(p, { protocolVersion: 5 });
    return decodePublish(frame[0]!, frame, 2, frame.length, true);
  };
  const base: IPublishPacket = { cmd: 'publish', topic: 't/1', payload: Buffer.from('x'), qos: 1, messageId: 9, retain: false, dup: false };
  assert.equal(decode({ ...base, properties: { contentType: 'a' } }), null);
  const plainPublish = decode(base);
  assert.ok(plainPublish !== null && !(plainPublish instanceof Error));
  assert.deepEqual([plainPublish.topic, plainPublish.messageId, plainPublish.payload.toString(), plainPublish.properties], ['t/1', 9, 'x', undefined]);
});
