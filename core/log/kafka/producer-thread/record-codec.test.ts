import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProduceRecord } from '../../types.ts';
import { decodeRecords, encodeRecords } from './record-codec.ts';

/** What a record looks like after the trip: Kafka has bytes only, so string keys and values come back as Buffers. */
function asBytes(r: ProduceRecord): ProduceRecord {
  const out: ProduceRecord = { value: r.value === null ? null : Buffer.from(r.value) };
  if (r.key !== undefined && r.key !== null) out.key = Buffer.from(r.key);
  if (r.partition !== undefined) out.partition = r.partition;
  if (r.timestamp !== undefined) out.timestamp = r.timestamp;
  if (r.headers) out.headers = { ...r.headers };
  return out;
}

test('records survive the packing: keys, values, headers (string and bytes), partitions, timestamps, absences', () => {
  const pooled = Buffer.from('{"t":21.5}'); // a view into Node's shared pool, as most Buffers are
  const records: ProduceRecord[] = [
    { key: 'dev-1', value: pooled, timestamp: 1_700_000_000_123, headers: { 'iothub-connection-device-id': 'dev-1', bin: Buffer.from([0, 255, 7]) } },
    { key: null, value: null },
    { value: 'ünïcødé value', partition: 3 },
    { key: Buffer.alloc(0), value: Buffer.alloc(0), headers: {} },
    { key: 'k', value: Buffer.alloc(300_000, 7), partition: 0, timestamp: 0 },
  ];
  const packed = encodeRecords(records);
  assert.ok(packed.byteLength < 8192 + 300_100, 'the pool behind `pooled` is not dragged along');
  assert.deepEqual(decodeRecords(packed), records.map(asBytes));
});

test('an empty call packs to a count of zero', () => {
  assert.deepEqual(decodeRecords(encodeRecords([])), []);
});

test('bytes left over after the declared records are refused (a framing bug must not pass silently)', () => {
  const packed = Buffer.from(encodeRecords([{ key: 'a', value: 'b' }]));
  const longer = Buffer.concat([packed, Buffer.from([1, 2])]);
  assert.throws(() => decodeRecords(longer.buffer.slice(longer.byteOffset, longer.byteOffset + longer.length)), /left over/);
});

test('seeded random records round-trip', () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  const str = () => String.fromCharCode(...Array.from({ length: rnd(20) }, () => 32 + rnd(0x2fff)));
  const val = () => (rnd(2) ? str() : Buffer.from(Array.from({ length: rnd(50) }, () => rnd(256))));
  const records: ProduceRecord[] = Array.from({ length: 500 }, () => {
    const r: ProduceRecord = { value: rnd(5) === 0 ? null : val() };
    if (rnd(3)) r.key = rnd(4) === 0 ? null : val();
    if (rnd(3) === 0) r.partition = rnd(100);
    if (rnd(2)) r.timestamp = rnd(2 ** 30) * 1000;
    if (rnd(2)) r.headers = Object.fromEntries(Array.from({ length: rnd(4) }, () => [str(), val()]));
    return r;
  });
  assert.deepEqual(decodeRecords(encodeRecords(records)), records.map(asBytes));
});
