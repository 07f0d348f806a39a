/**
 * Binary framing of records in segment files.
 *
 *   frame  = u32 bodyLength | u32 crc32(body) | body
 *   body   = u8 version(1) | u48 offset | i48 timestamp | i32 keyLength (-1 = null) | key
 *            | i32 valueLength (-1 = null) | value | u16 headerCount | (u16 nameLength | name | u32 length | bytes)*
 *
 * The length prefix lets a reader skip whole frames; the CRC over the body tells a complete frame from one torn by a
 * crash mid-write (the tail of the last segment), which open() then truncates — the same recovery Kafka performs on
 * an unclean shutdown. 48-bit integers hold offsets and millisecond timestamps exactly in a JS number.
 */
import { crc32 } from './crc32.ts';
import type { Headers, LogRecord } from '../types.ts';

export const FRAME_HEADER_BYTES = 8;
const VERSION = 1;
const FIXED_BODY_BYTES = 1 + 6 + 6 + 4 + 4 + 2;

/** A record ready to be framed: bytes normalised, partition and timestamp chosen, offset assigned at append time. */
export interface EncodableRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Headers;
  readonly timestamp: number;
}

/** Size of the frame `record` will take on disk (computed before encoding, to check limits and plan rolls). */
export function frameSize(record: EncodableRecord): number {
  let size = FRAME_HEADER_BYTES + FIXED_BODY_BYTES + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [name, bytes] of Object.entries(record.headers)) size += 2 + Buffer.byteLength(name, 'utf8') + 4 + bytes.length;
  return size;
}

/** Writes the frame for `record` at `offset` into `target` at `position`; returns the position after it. */
export function encodeFrame(record: EncodableRecord, offset: number, target: Buffer, position: number): number {
  let p = position + FRAME_HEADER_BYTES;
  const bodyStart = p;
  p = target.writeUInt8(VERSION, p);
  p = target.writeUIntBE(offset, p, 6);
  p = target.writeIntBE(record.timestamp, p, 6);
  p = writeBytes(target, p, record.key);
  p = writeBytes(target, p, record.value);
  const headers = Object.entries(record.headers);
  p = target.writeUInt16BE(headers.length, p);
  for (const [name, bytes] of headers) {
    const nameLength = target.write(name, p + 2, 'utf8');
    p = target.writeUInt16BE(nameLength, p) + nameLength;
    p = target.writeUInt32BE(bytes.length, p);
    p += bytes.copy(target, p);
  }
  target.writeUInt32BE(p - bodyStart, position);
  target.writeUInt32BE(crc32(target, bodyStart, p), position + 4);
  return p;
}

function writeBytes(target: Buffer, p: number, bytes: Buffer | null): number {
  if (bytes === null) return target.writeInt32BE(-1, p);
  p = target.writeInt32BE(bytes.length, p);
  return p + bytes.copy(target, p);
}

/** Result of looking at the bytes at a position: a whole valid frame, a frame that needs more bytes, or garbage. */
export type FrameProbe =
  | { kind: 'frame'; size: number }
  | { kind: 'incomplete'; needed: number }
  | { kind: 'corrupt'; reason: string };

/**
 * Checks the frame starting at `position` in `buf` (which holds bytes up to buf.length). `maxFrameBytes` rejects an
 * absurd length prefix — the usual shape of a torn write — without trying to read gigabytes.
 */
export function probeFrame(buf: Buffer, position: number, maxFrameBytes: number): FrameProbe {
  const available = buf.length - position;
  if (available < FRAME_HEADER_BYTES) return { kind: 'incomplete', needed: FRAME_HEADER_BYTES };
  const bodyLength = buf.readUInt32BE(position);
  const size = FRAME_HEADER_BYTES + bodyLength;
  if (bodyLength < FIXED_BODY_BYTES || size > maxFrameBytes) return { kind: 'corrupt', reason: `bad frame length ${bodyLength}` };
  if (available < size) return { kind: 'incomplete', needed: size };
  const bodyStart = position + FRAME_HEADER_BYTES;
  if (crc32(buf, bodyStart, position + size) !== buf.readUInt32BE(position + 4)) return { kind: 'corrupt', reason: 'CRC mismatch' };
  if (buf.readUInt8(bodyStart) !== VERSION) return { kind: 'corrupt', reason: `unknown frame version ${buf.readUInt8(bodyStart)}` };
  return { kind: 'frame', size };
}

/** Offset and timestamp of a frame already validated by probeFrame (cheap: no copies). */
export function peekFrame(buf: Buffer, position: number): { offset: number; timestamp: number } {
  const body = position + FRAME_HEADER_BYTES;
  return { offset: buf.readUIntBE(body + 1, 6), timestamp: buf.readIntBE(body + 7, 6) };
}

/** Decodes a frame already validated by probeFrame. Key, value and header bytes are copied out of `buf`. */
export function decodeFrame(buf: Buffer, position: number, topic: string, partition: number): LogRecord {
  let p = position + FRAME_HEADER_BYTES + 1;
  const offset = buf.readUIntBE(p, 6);
  const timestamp = buf.readIntBE(p + 6, 6);
  p += 12;
  const key = readBytes(buf, p);
  p = key.next;
  const value = readBytes(buf, p);
  p = value.next;
  const headerCount = buf.readUInt16BE(p);
  p += 2;
  const headers: Headers = {};
  for (let i = 0; i < headerCount; i++) {
    const nameLength = buf.readUInt16BE(p);
    const name = buf.toString('utf8', p + 2, p + 2 + nameLength);
    p += 2 + nameLength;
    const length = buf.readUInt32BE(p);
    headers[name] = Buffer.from(buf.subarray(p + 4, p + 4 + length));
    p += 4 + length;
  }
  return { topic, partition, offset, key: key.bytes, value: value.bytes, headers, timestamp };
}

function readBytes(buf: Buffer, p: number): { bytes: Buffer | null; next: number } {
  const length = buf.readInt32BE(p);
  if (length < 0) return { bytes: null, next: p + 4 };
  return { bytes: Buffer.from(buf.subarray(p + 4, p + 4 + length)), next: p + 4 + length };
}
