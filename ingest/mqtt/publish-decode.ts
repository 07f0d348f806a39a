/**
 * The per-message packets decoded without mqtt-packet: PUBLISH, PUBACK, PINGREQ and (3.1.1) DISCONNECT, from one
 * complete frame (packet-reader.ts cuts the frames). mqtt-packet's streaming parser cost ~7.5 % of the hub's main
 * thread in the ingest bench (BufferList copies and consumes, `debug` calls even when disabled); these functions read
 * the frame in place in the socket's chunk (the payload is the only view made of it). The objects have the fields
 * mqtt-packet's parser gives (cmd, retain, qos, dup, length, topic, payload, messageId, properties), always all of
 * them, so handlers see one object shape; an absent messageId or properties is `undefined` instead of a missing key.
 *
 * A function returns `null` for a frame it leaves to mqtt-packet (frame-fallback.ts): MQTT 5 packets that carry
 * properties or a reason code. PUBLISH's topic is checked here first in both cases.
 */
import { isUtf8 } from 'node:buffer';
import type { IDisconnectPacket, IPingreqPacket, IPubackPacket, IPublishPacket } from 'mqtt-packet';

/** A frame that breaks MQTT's packet format: the connection is closed (MQTT 5 reason 0x81). */
export class MalformedPacketError extends Error {}

/**
 * The topic of a PUBLISH, whose UTF-8 must be well formed [MQTT-1.5.3-1] (mqtt-packet decodes it leniently, with
 * U+FFFD for bad bytes). The decoder already substitutes U+FFFD for every ill-formed sequence, so a topic without
 * one is valid; only one that contains it is checked byte by byte (a client may send U+FFFD itself).
 */
function topicOf(buf: Buffer, start: number, end: number): string | undefined {
  const topic = buf.toString('utf8', start, end);
  if (topic.indexOf('\uFFFD') === -1 || isUtf8(buf.subarray(start, end))) return topic;
  return undefined;
}

/**
 * PUBLISH (type 3). `first` is the fixed header's first byte (its flags were checked by the reader: QoS ≤ 2), the
 * body (the Remaining Length bytes) is `buf` from `start` to `end`. The payload is a view of `buf`, not a copy. QoS 2
 * is decoded like QoS 1: the connection refuses it (handle-publish.ts).
 */
export function decodePublish(first: number, buf: Buffer, start: number, end: number, v5: boolean): IPublishPacket | MalformedPacketError | null {
  if (start + 2 > end) return new MalformedPacketError('Cannot parse topic');
  const topicEnd = start + 2 + ((buf[start]! << 8) | buf[start + 1]!);
  if (topicEnd > end) return new MalformedPacketError('Cannot parse topic');
  const topic = topicOf(buf, start + 2, topicEnd);
  if (topic === undefined) return new MalformedPacketError('topic name is not well-formed UTF-8 [MQTT-1.5.3-1]');
  const qos = (first >> 1) & 3;
  let pos = topicEnd;
  let messageId: number | undefined;
  if (qos > 0) {
    if (pos + 2 > end) return new MalformedPacketError('Cannot parse messageId');
    messageId = (buf[pos]! << 8) | buf[pos + 1]!;
    pos += 2;
  }
  if (v5) {
    // Property Length 0 is one byte; anything else (including a missing length) is mqtt-packet's to decode.
    if (pos >= end || buf[pos] !== 0) return null;
    pos++;
  }
  return {
    cmd: 'publish',
    retain: (first & 1) !== 0,
    qos: qos as 0 | 1 | 2,
    dup: (first & 8) !== 0,
    length: end - start,
    topic,
    payload: buf.subarray(pos, end),
    messageId,
    properties: undefined,
  };
}

/** PUBACK (type 4). MQTT 5 allows the 2-byte form for success [MQTT-3.4.2.1]; a reason code goes to mqtt-packet. */
export function decodePuback(buf: Buffer, start: number, end: number, v5: boolean): IPubackPacket | MalformedPacketError | null {
  const length = end - start;
  if (length < 2) return new MalformedPacketError('Cannot parse messageId');
  if (v5 && length > 2) return null;
  return {
    cmd: 'puback', retain: false, qos: 0, dup: false, length, topic: null, payload: null,
    messageId: (buf[start]! << 8) | buf[start + 1]!, reasonCode: v5 ? 0 : undefined,
  } as IPubackPacket;
}

/** PINGREQ (type 12): no variable header or payload. */
export function decodePingreq(length: number): IPingreqPacket {
  return { cmd: 'pingreq', retain: false, qos: 0, dup: false, length, topic: null, payload: null } as IPingreqPacket;
}

/** DISCONNECT (type 14) of 3.1.1, which has no reason code; MQTT 5's goes to mqtt-packet. */
export function decodeDisconnect(length: number, v5: boolean): IDisconnectPacket | null {
  if (v5) return null;
  return { cmd: 'disconnect', retain: false, qos: 0, dup: false, length, topic: null, payload: null } as IDisconnectPacket;
}
