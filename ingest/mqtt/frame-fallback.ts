/**
 * Every packet publish-decode.ts does not decode itself (CONNECT, SUBSCRIBE, UNSUBSCRIBE, AUTH, MQTT 5 packets with
 * properties or reason codes) goes to mqtt-packet's parser — one shared instance per protocol level for the whole
 * process, fed exactly one complete frame at a time, so no connection keeps any of mqtt-packet's state between
 * packets. These packets come once or a few times per connection; their cost does not matter.
 */
import { parser as createParser, type Packet } from 'mqtt-packet';
import { MalformedPacketError } from './publish-decode.ts';

/** The parser fields used here (parser.js of mqtt-packet 9): `settings` is replaced by each CONNECT it parses. */
interface SharedParser {
  settings: object;
  parse(buf: Buffer): number;
  on(event: 'packet', listener: (packet: Packet) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

const SETTINGS_V4 = Object.freeze({ protocolVersion: 4 });
const SETTINGS_V5 = Object.freeze({ protocolVersion: 5 });

/** What the parser emitted for the frame being parsed (it emits synchronously). */
let result: Packet | Error | undefined;

function newParser(settings: object): SharedParser {
  const p = createParser(settings) as unknown as SharedParser;
  p.on('packet', (packet) => { result ??= packet; });
  p.on('error', (err) => { result = err; });
  return p;
}

const parsers = { v4: newParser(SETTINGS_V4), v5: newParser(SETTINGS_V5) };

/**
 * Parses one complete frame (fixed header included) at MQTT 3.1.1 or 5. A CONNECT is parsed by the level it declares
 * whichever parser takes it; the caller reads `protocolVersion` from it.
 */
export function parseFrame(frame: Buffer, v5: boolean): Packet | Error {
  const p = v5 ? parsers.v5 : parsers.v4;
  result = undefined;
  let left: number;
  try {
    left = p.parse(frame);
  } catch (err) {
    // mqtt-packet has thrown on inputs it did not expect; a fresh parser leaves nothing of that frame behind.
    left = -1;
    result = new MalformedPacketError(`unparseable packet: ${(err as Error).message}`);
  }
  // Its CONNECT parse makes the packet the parser's settings (with the client's password); the next frame on this
  // shared parser belongs to another connection.
  p.settings = v5 ? SETTINGS_V5 : SETTINGS_V4;
  const out = result ?? new MalformedPacketError('incomplete packet');
  // After an error mqtt-packet resets itself on the next parse; anything else that left bytes or state behind gets a
  // new parser.
  if (left !== 0 || result === undefined) {
    if (v5) parsers.v5 = newParser(SETTINGS_V5);
    else parsers.v4 = newParser(SETTINGS_V4);
  }
  result = undefined;
  return out;
}
