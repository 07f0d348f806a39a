/**
 * MQTT 3.1.1 and 5 framing on mqtt-packet's parser (the CONNECT picks the version for the rest of the connection), with a cap on the declared packet size: the parser would otherwise
 * buffer whatever Remaining Length a client announces (up to 256 MB) before looking at it. IoT Hub's largest D2C
 * message is 256 KB (iothub-wire.md §7.1); the cap leaves room for the topic and property bag above that, so an
 * over-limit message inside the cap still gets the precise MessageTooLarge refusal from the gateway.
 */
import { createRequire } from 'node:module';
import { generate, writeToStream, type Packet } from 'mqtt-packet';

// mqtt-packet otherwise builds, on its first generate(), a cache of 65,536 two-byte Buffers for packet ids: ~6 MB of V8
// heap for a saving that does not matter here (PUBACK, the per-message packet, is encoded below without mqtt-packet).
writeToStream.cacheNumbers = false;

export type { Packet };

/** 256 KB body + up to 64 KB of topic/property bag. */
export const DEFAULT_MAX_PACKET_BYTES = 320 * 1024;

/** Who hears about parsed packets: the connection itself, so no closures or listener maps per connection. */
export interface PacketHandler {
  onPacket(packet: Packet): void;
  onMalformed(err: Error): void;
}

interface BufferListLike {
  length: number;
  append(buf: Buffer): unknown;
}

/** mqtt-packet's Parser internals this file relies on (parser.js of mqtt-packet 9). */
interface ParserBase {
  packet: { length: number; cmd?: string };
  settings: { protocolVersion?: number };
  error: Error | null;
  _list: BufferListLike;
  _stateCounter: number;
  _states: readonly string[];
  parser(opt: { protocolVersion: number }): unknown;
  _parseLength(): boolean;
  _emitError(err: Error): void;
  _resetState(): void;
  parse(chunk: Buffer): number;
}

// mqtt-packet's own Parser class and the plain BufferList of the `bl` it depends on (resolved from mqtt-packet, so
// we get the very copy it uses). Not the stream variant: `bl()` is a Duplex stream with readable and writable state,
// about 1 KB on every idle connection for a buffer that is only ever appended to and consumed.
const requireFromMqttPacket = createRequire(createRequire(import.meta.url).resolve('mqtt-packet'));
const ParserClass = requireFromMqttPacket('./parser.js') as new () => ParserBase;
const BufferList = requireFromMqttPacket('bl/BufferList.js') as new () => BufferListLike;

/** mqtt-packet's parser states, which its parser() otherwise allocates as a new array for every connection. */
const PARSER_STATES = Object.freeze(['_parseHeader', '_parseLength', '_parsePayload', '_newPacket']);

/** What the parser keeps from CONNECT once it is parsed: the protocol version only (not the SAS token in `password`). */
const SETTINGS_V4 = Object.freeze({ protocolVersion: 4 });
const SETTINGS_V5 = Object.freeze({ protocolVersion: 5 });

/** A Remaining Length above the cap (MQTT 5 answers it with DISCONNECT 0x95). */
export class PacketTooLargeError extends Error {}

/**
 * The parser with three changes, all on the prototype (nothing per connection): a Remaining Length cap checked as
 * soon as the fixed header is read, before any payload is buffered; events go straight to the handler (no
 * EventEmitter listener map); the buffer list is the plain BufferList.
 */
class CappedParser extends ParserClass {
  handler!: PacketHandler;
  maxPacketBytes = DEFAULT_MAX_PACKET_BYTES;
  failed = false;

  override _resetState(): void {
    super._resetState();
    this._list = new BufferList();
  }

  override _parseLength(): boolean {
    const ok = super._parseLength();
    if (ok && this.packet.length > this.maxPacketBytes) {
      this._emitError(new PacketTooLargeError(`packet of ${this.packet.length} bytes exceeds the ${this.maxPacketBytes}-byte limit`));
      return false;
    }
    return ok;
  }

  emit(event: string, arg: unknown): boolean {
    if (this.failed) return true;
    if (event === 'packet') {
      const packet = arg as Packet;
      // Parsing CONNECT made the packet the parser's settings; keep only what later packets need: the version, which
      // decides whether they carry MQTT 5 properties (the CONNECT itself is parsed by the level it declares).
      if (packet.cmd === 'connect' && this.settings === (packet as unknown)) this.settings = packet.protocolVersion === 5 ? SETTINGS_V5 : SETTINGS_V4;
      this.handler.onPacket(packet);
    } else if (event === 'error') {
      this.failed = true;
      this.handler.onMalformed(arg as Error);
    }
    return true;
  }
}

export class PacketReader {
  private readonly parser: CappedParser;

  constructor(handler: PacketHandler, maxPacketBytes = DEFAULT_MAX_PACKET_BYTES) {
    const p = new CappedParser();
    p.handler = handler;
    p.maxPacketBytes = maxPacketBytes;
    p.parser({ protocolVersion: 4 });
    p._states = PARSER_STATES;
    // EventEmitter's listener map (a dictionary-mode object) is never used: emit is overridden above.
    (p as unknown as { _events: unknown })._events = undefined;
    this.parser = p;
  }

  /** Feeds bytes; packets and errors are emitted synchronously. After an error nothing more is parsed. */
  push(chunk: Buffer): void {
    if (!this.parser.failed) this.parser.parse(chunk);
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
