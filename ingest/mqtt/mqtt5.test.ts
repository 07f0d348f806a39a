import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, type IConnectPacket, type Packet } from 'mqtt-packet';
import { TributaryError } from '../../core/errors/index.ts';
import type { InboundMessage } from '../gateway/envelope.ts';
import {
  acceptedConnack, applyPublishProperties, connackReasonCode, deliveryProperties, disconnectCodeFor, PublishRefusal, pubackCodeFor, RC,
  refusedPuback, v5Session,
} from './mqtt5.ts';
import { encodePacket, PacketReader, PacketTooLargeError } from './packet-reader.ts';
import { parseDeviceBag } from './property-bag.ts';

const v5Connect: IConnectPacket = {
  cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'dev1', clean: true, keepalive: 60, username: 'h/dev1/?api-version=2021-04-12',
  password: Buffer.from('sas'), properties: { receiveMaximum: 7, maximumPacketSize: 4096, requestProblemInformation: false },
};

function messageFromBag(bag: string): InboundMessage {
  const parsed = parseDeviceBag(bag);
  return { system: parsed.system, properties: parsed.properties, body: Buffer.alloc(0) };
}

function readAll(bytes: Buffer[], maxPacketBytes?: number): { packets: Packet[]; errors: Error[] } {
  const packets: Packet[] = [];
  const errors: Error[] = [];
  const reader = new PacketReader({ onPacket: (p) => packets.push(p), onMalformed: (e) => errors.push(e) }, maxPacketBytes);
  for (const b of bytes) reader.push(b);
  return { packets, errors };
}

test('3.1.1 CONNACK return codes 1–5 become the v5 reason codes for the same outcome', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((c) => connackReasonCode(c as 1 | 2 | 3 | 4 | 5)), [0x84, 0x85, 0x88, 0x86, 0x87]);
  // Code 3 is several outcomes over 3.1.1; v5 names the throttle and the quota exactly.
  assert.equal(connackReasonCode(3, new TributaryError('ThrottlingException', 'too many')), RC.connectionRateExceeded);
  assert.equal(connackReasonCode(3, new TributaryError('IotHubQuotaExceeded', 'quota')), RC.quotaExceeded);
  assert.equal(connackReasonCode(3, new TributaryError('ServiceUnavailable', 'down')), RC.serverUnavailable);
});

test('the CONNACK announces what the hub supports; Server Keep Alive only where the client value cannot hold', () => {
  const ok = acceptedConnack(true, 60, 1000);
  assert.equal(ok.reasonCode, 0);
  assert.equal(ok.sessionPresent, true);
  assert.deepEqual(ok.properties, { maximumQoS: 1, topicAliasMaximum: 0, maximumPacketSize: 1000, subscriptionIdentifiersAvailable: false, sharedSubscriptionAvailable: false });
  assert.equal(acceptedConnack(false, 0, 1000).properties?.serverKeepAlive, 1177);
  assert.equal(acceptedConnack(false, 1178, 1000).properties?.serverKeepAlive, 1177);
  assert.equal(acceptedConnack(false, 1177, 1000).properties?.serverKeepAlive, undefined);
});

test('the session keeps the client limits from CONNECT', () => {
  const s = v5Session(v5Connect);
  assert.equal(s.receiveMaximum, 7);
  assert.equal(s.maximumPacketSize, 4096);
  assert.equal(s.problemInformation, false);
  assert.equal(s.sessionExpiry, 0);
  const d = v5Session({ ...v5Connect, properties: { sessionExpiryInterval: 3600 } });
  assert.deepEqual([d.receiveMaximum, d.maximumPacketSize, d.problemInformation, d.sessionExpiry], [65535, 0, true, 3600]);
});

test('publish properties fill in what the topic bag leaves unset; the bag wins', () => {
  const m = messageFromBag('%24.ct=text%2Fplain&shared=from-bag&bagOnly=1');
  applyPublishProperties(m, {
    contentType: 'application/json', correlationData: Buffer.from('corr-ü'), messageExpiryInterval: 60, payloadFormatIndicator: true,
    userProperties: { shared: 'from-v5', v5Only: 'x', repeated: ['a', 'b'] },
  }, Date.parse('2030-01-01T00:00:00Z'));
  assert.deepEqual(m.system, {
    contentType: 'text/plain', correlationId: 'corr-ü', expiryTime: '2030-01-01T00:01:00.000Z', contentEncoding: 'utf-8',
  });
  assert.deepEqual(m.properties, { shared: 'from-bag', bagOnly: '1', v5Only: 'x', repeated: 'b' });

  const fromBag = messageFromBag('%24.cid=bag-cid&%24.exp=2031-01-01T00%3A00%3A00Z&%24.ce=utf-16');
  applyPublishProperties(fromBag, { correlationData: Buffer.from('v5-cid'), messageExpiryInterval: 5, payloadFormatIndicator: true, contentType: 'a/b' }, 0);
  assert.deepEqual(fromBag.system, { correlationId: 'bag-cid', expiryTime: '2031-01-01T00:00:00Z', contentEncoding: 'utf-16', contentType: 'a/b' });
});

test('correlation data that is not UTF-8 is refused with 0x83', () => {
  const m = messageFromBag('');
  assert.throws(() => applyPublishProperties(m, { correlationData: Buffer.from([0xff, 0xfe, 0x00]) }, 0),
    (err: unknown) => err instanceof PublishRefusal && err.pubackCode === RC.implementationSpecific);
});

test('refusals map to PUBACK codes the device can act on; failures of the hub close the connection instead', () => {
  const tooLarge = new TributaryError('MessageTooLarge', 'big');
  const throttled = new TributaryError('ThrottlingException', 'slow');
  const unavailable = new TributaryError('ServiceUnavailable', 'kafka down');
  assert.equal(pubackCodeFor(tooLarge), RC.quotaExceeded);
  assert.equal(pubackCodeFor(throttled), RC.quotaExceeded);
  assert.equal(pubackCodeFor(new TributaryError('ArgumentInvalid', 'bag')), RC.topicNameInvalid);
  assert.equal(pubackCodeFor(new PublishRefusal('x', RC.notAuthorized, RC.notAuthorized)), RC.notAuthorized);
  assert.equal(pubackCodeFor(unavailable), undefined);
  assert.equal(pubackCodeFor(new Error('unknown')), undefined);
  assert.equal(disconnectCodeFor(tooLarge), RC.packetTooLarge);
  assert.equal(disconnectCodeFor(throttled), RC.messageRateTooHigh);
  assert.equal(disconnectCodeFor(unavailable), RC.serverBusy);
  assert.equal(disconnectCodeFor(new Error('unknown')), RC.unspecified);
});

test('a refused PUBACK carries a reason string only when the client asked for problem information', () => {
  const err = new TributaryError('MessageTooLarge', 'Message of 300000 bytes exceeds the limit');
  const withInfo = refusedPuback(9, RC.quotaExceeded, err, v5Session({ ...v5Connect, properties: {} }));
  assert.deepEqual(withInfo, { cmd: 'puback', messageId: 9, reasonCode: 0x97, properties: { reasonString: 'MessageTooLarge: Message of 300000 bytes exceeds the limit' } });
  assert.equal(refusedPuback(9, RC.quotaExceeded, err, v5Session(v5Connect)).properties, undefined);
});

test('C2D deliveries carry application properties, content type and correlation id as v5 properties', () => {
  const props = deliveryProperties({
    kind: 'C2DMessage', commandId: 'c', deviceId: 'd', enqueuedTime: 0, contentType: 'application/json', correlationId: 'corr',
    properties: { a: '1', 'b c': 'x&y' },
  });
  assert.deepEqual(props, { userProperties: { a: '1', 'b c': 'x&y' }, contentType: 'application/json', correlationData: Buffer.from('corr') });
  assert.equal(deliveryProperties({ kind: 'C2DMessage', commandId: 'c', deviceId: 'd', enqueuedTime: 0 }), undefined);
  assert.equal(deliveryProperties({ kind: 'MethodRequest', commandId: 'c', deviceId: 'd', enqueuedTime: 0, properties: { a: '1' } }), undefined);
});

test('the packet reader reads the version from CONNECT: v5 publishes keep their properties, 3.1.1 ones have none', () => {
  const publish: Packet = {
    cmd: 'publish', topic: 'devices/dev1/messages/events/', payload: Buffer.from('hi'), qos: 1, messageId: 3, retain: false, dup: false,
    properties: { userProperties: { k: 'v' }, contentType: 'text/plain' },
  };
  const v5 = readAll([generate(v5Connect, { protocolVersion: 5 }), generate(publish, { protocolVersion: 5 })]);
  assert.deepEqual(v5.errors, []);
  assert.equal(v5.packets.length, 2);
  const p5 = v5.packets[1] as Extract<Packet, { cmd: 'publish' }>;
  assert.deepEqual({ ...p5.properties, userProperties: { ...p5.properties?.userProperties } }, { userProperties: { k: 'v' }, contentType: 'text/plain' });
  assert.equal(p5.payload.toString(), 'hi');

  const v4Connect: IConnectPacket = { ...v5Connect, protocolVersion: 4 };
  delete v4Connect.properties;
  const v4 = readAll([generate(v4Connect, { protocolVersion: 4 }), generate({ ...publish, properties: undefined } as Packet, { protocolVersion: 4 })]);
  assert.deepEqual(v4.errors, []);
  const p4 = v4.packets[1] as Extract<Packet, { cmd: 'publish' }>;
  assert.equal(p4.properties, undefined);
  assert.equal(p4.payload.toString(), 'hi');
});

test('a packet above the cap is a PacketTooLargeError (DISCONNECT 0x95 for v5)', () => {
  const big: Packet = { cmd: 'publish', topic: 'devices/dev1/messages/events/', payload: Buffer.alloc(2000), qos: 0, retain: false, dup: false };
  const r = readAll([generate(v5Connect, { protocolVersion: 5 }), generate(big, { protocolVersion: 5 })], 1000);
  assert.equal(r.packets.length, 1);
  assert.ok(r.errors[0] instanceof PacketTooLargeError);
});

test('PUBACK encoding: the 4-byte form for success in both versions, a reason code for v5 refusals', () => {
  assert.deepEqual([...encodePacket({ cmd: 'puback', messageId: 258 })], [0x40, 0x02, 0x01, 0x02]);
  assert.deepEqual([...encodePacket({ cmd: 'puback', messageId: 258, reasonCode: 0x97 }, { protocolVersion: 5 })], [0x40, 0x04, 0x01, 0x02, 0x97, 0x00]);
  // A reason string that would exceed the client's Maximum Packet Size is dropped, the reason code stays.
  const long = encodePacket({ cmd: 'puback', messageId: 1, reasonCode: 0x97, properties: { reasonString: 'x'.repeat(200) } }, { protocolVersion: 5, properties: { maximumPacketSize: 64 } });
  assert.ok(long.length <= 64);
  assert.equal(long[4], 0x97);
});
