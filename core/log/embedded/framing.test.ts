import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from './crc32.ts';
import { decodeFrame, encodeFrame, frameSize, peekFrame, probeFrame, type EncodableRecord } from './framing.ts';

const MAX = 1 << 20;

function encode(record: EncodableRecord, offset: number): Buffer {
  const buf = Buffer.alloc(frameSize(record));
  assert.equal(encodeFrame(record, offset, buf, 0), buf.length, 'frameSize matches what encodeFrame writes');
  return buf;
}

describe('framing', () => {
  test('crc32 matches the standard check value', () => {
    // The CRC-32/ISO-HDLC check value for "123456789".
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });

  test('a frame round-trips key, value, headers, offset and timestamp', () => {
    const record = { key: Buffer.from('dev-1'), value: Buffer.from('{"t":21.5}'), headers: { 'content-type': Buffer.from('json'), 'ü': Buffer.alloc(0) }, timestamp: 1_700_000_000_123 };
    const buf = encode(record, 2 ** 40 + 7);
    assert.deepEqual(probeFrame(buf, 0, MAX), { kind: 'frame', size: buf.length });
    assert.deepEqual(peekFrame(buf, 0), { offset: 2 ** 40 + 7, timestamp: 1_700_000_000_123 });
    const decoded = decodeFrame(buf, 0, 't', 3);
    assert.deepEqual(decoded, { topic: 't', partition: 3, offset: 2 ** 40 + 7, ...record });
  });

  test('null key and null value stay null, distinct from empty', () => {
    const nulls = decodeFrame(encode({ key: null, value: null, headers: {}, timestamp: 0 }, 0), 0, 't', 0);
    assert.equal(nulls.key, null);
    assert.equal(nulls.value, null);
    const empty = decodeFrame(encode({ key: Buffer.alloc(0), value: Buffer.alloc(0), headers: {}, timestamp: 0 }, 0), 0, 't', 0);
    assert.deepEqual(empty.key, Buffer.alloc(0));
    assert.deepEqual(empty.value, Buffer.alloc(0));
  });

  test('probe tells torn and corrupted frames apart from whole ones', () => {
    const buf = encode({ key: null, value: Buffer.from('hello'), headers: {}, timestamp: 5 }, 1);
    assert.deepEqual(probeFrame(buf.subarray(0, 5), 0, MAX), { kind: 'incomplete', needed: 8 });
    assert.deepEqual(probeFrame(buf.subarray(0, buf.length - 1), 0, MAX), { kind: 'incomplete', needed: buf.length });
    const flipped = Buffer.from(buf);
    flipped[flipped.length - 2]! ^= 0x01;
    assert.equal(probeFrame(flipped, 0, MAX).kind, 'corrupt');
    const hugeLength = Buffer.from(buf);
    hugeLength.writeUInt32BE(0x7fffffff, 0);
    assert.equal(probeFrame(hugeLength, 0, MAX).kind, 'corrupt');
    const zeros = Buffer.alloc(64);
    assert.equal(probeFrame(zeros, 0, MAX).kind, 'corrupt', 'a zero-filled tail (pre-allocated, never written) is not a frame');
  });
});
