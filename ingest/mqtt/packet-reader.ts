/**
 * MQTT 3.1.1 and 5 framing (the CONNECT picks the version for the rest of the connection), with a cap on the declared
 * packet size: a client may announce a Remaining Length of up to 256 MB, and nothing of it is buffered before the cap
 * is checked. IoT Hub's largest D2C message is 256 KB (iothub-wire.md §7.1); the cap leaves room for the topic and
 * property bag above that, so an over-limit message inside the cap still gets the precise MessageTooLarge refusal
 * from the gateway.
 *
 * The frames are cut here rather than by mqtt-packet's streaming parser, which cost ~7.5 % of the hub's main thread
 * in the ingest bench and kept a Parser and a BufferList on every idle connection. A connection keeps at most one
 * partial frame, and nothing between packets: a frame that arrives whole is decoded in place (its payload a view of
 * the socket's chunk, as mqtt-packet's was), one split across chunks is gathered into one buffer.
 * The per-message packets are decoded by publish-decode.ts, the rest by mqtt-packet from the complete frame
 * (frame-fallback.ts).
 */
import { generate, writeToStream, type Packet } from 'mqtt-packet';
import { parseFrame } from './frame-fallback.ts';
import { decodeDisconnect, decodePingreq, decodePuback, decodePublish, MalformedPacketError } from './publish-decode.ts';

// mqtt-packet otherwise builds, on its first generate(), a cache of 65,536 two-byte Buffers for packet ids: ~6 MB of V8
// heap for a saving that does not matter here (PUBACK, the per-message packet, is encoded below without mqtt-packet).
writeToStream.cacheNumbers = false;

export type { Packet };
export { MalformedPacketError };

/** 256 KB body + up to 64 KB of topic/property bag. */
export const DEFAULT_MAX_PACKET_BYTES = 320 * 1024;

/** Who hears about parsed packets: the connection itself, so no closures or listener maps per connection. */
export interface PacketHandler {
  onPacket(packet: Packet): void;
  onMalformed(err: Error): void;
}

/** A Remaining Length above the cap (MQTT 5 answers it with DISCONNECT 0x95). */
export class PacketTooLargeError extends Error {}

/**
 * The flag bits each packet type must carry [MQTT-2.2.2-1], indexed by type; -1 = PUBLISH (flags are DUP/QoS/RETAIN)
 * or the reserved type 0, checked separately.
 */
const REQUIRED_FLAGS = [-1, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

/** Why a fixed header's first byte is not acceptable, or undefined. */
function firstByteError(first: number): MalformedPacketError | undefined {
  const type = first >> 4;
  if (type === 3) return ((first >> 1) & 3) === 3 ? new MalformedPacketError('Packet must not have both QoS bits set to 1') : undefined;
  if (type === 0) return new MalformedPacketError('reserved packet type 0');
  const flags = REQUIRED_FLAGS[type]!;
  return (first & 0xf) === flags ? undefined : new MalformedPacketError(`Invalid header flag bits, must be 0x${flags.toString(16)} for packet type ${type}`);
}

/** Remaining Length of the header that `readLength` last read completely, and that header's size in bytes. */
let headerLength = 0;
let headerSize = 0;
const INCOMPLETE = -1;
const INVALID = -2;

/**
 * Reads the Remaining Length after the first byte at `start`: 1–4 bytes, 7 bits each [MQTT-2.2.3]. Returns 0 and
 * sets headerLength/headerSize, or INCOMPLETE when `buf` ends first, or INVALID for a fifth continuation byte.
 */
function readLength(buf: Buffer, start: number): number {
  const end = buf.length;
  let value = 0;
  let mul = 1;
  for (let i = start + 1; i <= start + 4; i++) {
    if (i >= end) return INCOMPLETE;
    const b = buf[i]!;
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      headerLength = value;
      headerSize = i + 1 - start;
      return 0;
    }
    mul *= 128;
  }
  return INVALID;
}

/**
 * The first buffer for a frame split across chunks holds up to this much (a TLS record is at most 16 KiB); a larger
 * frame's buffer doubles as its bytes arrive. Not the declared size at once: a client that announces 320 KB and
 * sends 5 bytes would otherwise make every one of its connections hold 320 KB.
 */
const FIRST_PARTIAL_BYTES = 16 * 1024;

/** A fixed header again, for the frames handed to mqtt-packet whole. */
function encodeHeader(first: number, length: number): Buffer {
  const bytes = [first];
  do {
    let b = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) b |= 0x80;
    bytes.push(b);
  } while (length > 0);
  return Buffer.from(bytes);
}

export class PacketReader {
  private v5 = false;
  private failed = false;
  /** The fixed header's first byte of the frame being gathered in `partial`. */
  private partialFirst = 0;
  /** Body bytes of `partial` filled so far; -1 while `partial` holds an incomplete fixed header instead of a body. */
  private partialFilled = 0;
  /** The Remaining Length of the frame being gathered. */
  private partialLength = 0;
  /** The one partial frame: (the start of) its body, or the ≤ 4 bytes of a fixed header. */
  private partial: Buffer | undefined = undefined;

  constructor(private readonly handler: PacketHandler, private readonly maxPacketBytes = DEFAULT_MAX_PACKET_BYTES) {}

  /** Feeds bytes; packets and errors are emitted synchronously. After an error nothing more is parsed. */
  push(chunk: Buffer): void {
    if (this.failed) return;
    let pos = 0;
    if (this.partial !== undefined) {
      pos = this.partialFilled < 0 ? this.continueHeader(chunk) : this.continueBody(chunk);
      if (pos < 0) return;
    }
    const end = chunk.length;
    while (pos < end && !this.failed) {
      const first = chunk[pos]!;
      const bad = firstByteError(first);
      if (bad !== undefined) return this.fail(bad);
      const r = readLength(chunk, pos);
      if (r === INVALID) return this.fail(new MalformedPacketError('Invalid variable byte integer'));
      if (r === INCOMPLETE) {
        // A copy: a view would keep the whole chunk alive for a few bytes.
        this.partial = Buffer.from(chunk.subarray(pos));
        this.partialFilled = -1;
        return;
      }
      pos = this.startBody(first, chunk, pos + headerSize);
    }
  }

  /** The Remaining Length is known and the body starts at `pos`: decode it in place or start gathering it. */
  private startBody(first: number, chunk: Buffer, pos: number): number {
    const length = headerLength;
    if (length > this.maxPacketBytes) {
      this.fail(new PacketTooLargeError(`packet of ${length} bytes exceeds the ${this.maxPacketBytes}-byte limit`));
      return chunk.length;
    }
    const bodyEnd = pos + length;
    if (bodyEnd <= chunk.length) {
      this.frame(first, chunk, pos, bodyEnd);
      return bodyEnd;
    }
    const body = Buffer.allocUnsafe(Math.min(length, Math.max(FIRST_PARTIAL_BYTES, 2 * (chunk.length - pos))));
    this.partialFilled = chunk.copy(body, 0, pos);
    this.partialFirst = first;
    this.partialLength = length;
    this.partial = body;
    return chunk.length;
  }

  /** More of a body being gathered; returns where the next frame starts in `chunk`, or -1 if it is used up. */
  private continueBody(chunk: Buffer): number {
    let body = this.partial!;
    const filled = this.partialFilled;
    const used = Math.min(chunk.length, this.partialLength - filled);
    if (filled + used > body.length) {
      // Never beyond the Remaining Length, so the buffer is exactly the body once it is complete.
      const grown = Buffer.allocUnsafe(Math.min(this.partialLength, Math.max(2 * body.length, filled + used)));
      body.copy(grown, 0, 0, filled);
      this.partial = body = grown;
    }
    chunk.copy(body, filled, 0, used);
    this.partialFilled = filled + used;
    if (this.partialFilled < this.partialLength) return -1;
    this.partial = undefined;
    this.partialFilled = 0;
    this.frame(this.partialFirst, body, 0, body.length);
    return used;
  }

  /** More of a fixed header split across chunks: at most 5 bytes are joined, never the whole chunk. */
  private continueHeader(chunk: Buffer): number {
    const had = this.partial!;
    const joined = Buffer.concat([had, chunk.subarray(0, 5 - had.length)]);
    const r = readLength(joined, 0);
    if (r === INVALID) {
      this.fail(new MalformedPacketError('Invalid variable byte integer'));
      return -1;
    }
    if (r === INCOMPLETE) {
      this.partial = joined;
      return -1;
    }
    this.partial = undefined;
    this.partialFilled = 0;
    const pos = this.startBody(joined[0]!, chunk, headerSize - had.length);
    return this.failed || pos >= chunk.length ? -1 : pos;
  }

  /** One complete frame: its body (the Remaining Length bytes) is `buf` from `start` to `end`. */
  private frame(first: number, buf: Buffer, start: number, end: number): void {
    let packet: Packet | Error | null;
    switch (first >> 4) {
      case 3: packet = decodePublish(first, buf, start, end, this.v5); break;
      case 4: packet = decodePuback(buf, start, end, this.v5); break;
      case 12: packet = decodePingreq(end - start); break;
      case 14: packet = decodeDisconnect(end - start, this.v5); break;
      default: packet = null;
    }
    if (packet === null) {
      packet = parseFrame(Buffer.concat([encodeHeader(first, end - start), buf.subarray(start, end)]), this.v5);
      // The version of the CONNECT decides whether later packets carry MQTT 5 properties.
      if (!(packet instanceof Error) && packet.cmd === 'connect') this.v5 = packet.protocolVersion === 5;
    }
    if (packet instanceof Error) return this.fail(packet);
    this.handler.onPacket(packet);
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.partial = undefined;
    this.handler.onMalformed(err);
  }
}

const ENCODE_V4 = { protocolVersion: 4 };

/**
 * Serialises a packet for MQTT 3.1.1, or for MQTT 5 with `options` (mqtt5.ts V5Session.encodeOptions). PUBACK, the
 * packet sent once per telemetry message, is written directly (fixed header 0x40, remaining length 2, packet id
 * [MQTT-3.4]); MQTT 5 allows the same 4 bytes for a success without properties [MQTT-3.4.2.1]. Everything else goes
 * through mqtt-packet.
 */
export function encodePacket(packet: Packet, options?: object): Buffer {
  if (packet.cmd === 'puback' && packet.messageId !== undefined && packet.reasonCode === undefined) {
    return Buffer.from([0x40, 0x02, (packet.messageId >> 8) & 0xff, packet.messageId & 0xff]);
  }
  return generate(packet, options ?? ENCODE_V4);
}
