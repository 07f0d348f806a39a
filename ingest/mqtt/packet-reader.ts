/**
 * MQTT 3.1.1 framing on mqtt-packet's parser, with a cap on the declared packet size: the parser would otherwise
 * buffer whatever Remaining Length a client announces (up to 256 MB) before looking at it. IoT Hub's largest D2C
 * message is 256 KB (iothub-wire.md §7.1); the cap leaves room for the topic and property bag above that, so an
 * over-limit message inside the cap still gets the precise MessageTooLarge refusal from the gateway.
 */
import { generate, parser as createParser, type Packet } from 'mqtt-packet';

export type { Packet };

/** 256 KB body + up to 64 KB of topic/property bag. */
export const DEFAULT_MAX_PACKET_BYTES = 320 * 1024;

interface ParserInternals {
  packet: { length: number };
  _parseLength(): boolean;
  _emitError(err: Error): void;
  parse(chunk: Buffer): number;
  on(event: 'packet', fn: (p: Packet) => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
}

export class PacketReader {
  private readonly parser: ParserInternals;
  private failed = false;

  constructor(onPacket: (packet: Packet) => void, onError: (err: Error) => void, maxPacketBytes = DEFAULT_MAX_PACKET_BYTES) {
    this.parser = createParser({ protocolVersion: 4 }) as unknown as ParserInternals;
    const parseLength = this.parser._parseLength;
    const p = this.parser;
    // Checked as soon as the fixed header's Remaining Length is known, before any payload is buffered.
    p._parseLength = function checkedParseLength(this: ParserInternals): boolean {
      const ok = parseLength.call(this);
      if (ok && this.packet.length > maxPacketBytes) {
        this._emitError(new Error(`packet of ${this.packet.length} bytes exceeds the ${maxPacketBytes}-byte limit`));
        return false;
      }
      return ok;
    };
    p.on('packet', (packet) => {
      if (!this.failed) onPacket(packet);
    });
    p.on('error', (err) => {
      if (this.failed) return;
      this.failed = true;
      onError(err);
    });
  }

  /** Feeds bytes; packets and errors are emitted synchronously. After an error nothing more is parsed. */
  push(chunk: Buffer): void {
    if (!this.failed) this.parser.parse(chunk);
  }
}

/**
 * Serialises a packet for MQTT 3.1.1. PUBACK, the packet sent once per telemetry message, is written directly
 * (fixed header 0x40, remaining length 2, packet id [MQTT-3.4]); everything else goes through mqtt-packet.
 */
export function encodePacket(packet: Packet): Buffer {
  if (packet.cmd === 'puback' && packet.messageId !== undefined) {
    return Buffer.from([0x40, 0x02, (packet.messageId >> 8) & 0xff, packet.messageId & 0xff]);
  }
  return generate(packet, { protocolVersion: 4 });
}
