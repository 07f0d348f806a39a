/**
 * The records of one produce() call packed into one ArrayBuffer, which is *transferred* to the producer thread. Why
 * not postMessage the records as they are: a Buffer is usually a view into Node's shared 8 KB pool, and structured
 * clone copies a view's whole ArrayBuffer, so each ~300-byte record would cost a clone of 8 KB. Here each byte is
 * copied once, and the thread reads keys, values and header bytes as views into the transferred buffer.
 *
 * Layout per record (little-endian): u8 flags | i32 partition? | f64 timestamp? | u32 keyLength + key? |
 * u32 valueLength + value? | u16 headerCount + headers? ; a header is u16 nameLength + name, u8 kind (0 Buffer,
 * 1 string), u32 length + bytes. Strings are UTF-8; a string key or value comes back as a Buffer (Kafka has bytes only).
 */
import type { ProduceRecord } from '../../types.ts';

const KEY = 1;
const VALUE = 2;
const PARTITION = 4;
const TIMESTAMP = 8;
const HEADERS = 16;

function bytes(v: Buffer | string): number {
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

export function encodeRecords(records: readonly ProduceRecord[]): ArrayBuffer {
  let size = 4;
  for (const r of records) {
    size += 1;
    if (r.partition !== undefined) size += 4;
    if (r.timestamp !== undefined) size += 8;
    if (r.key !== undefined && r.key !== null) size += 4 + bytes(r.key);
    if (r.value !== null) size += 4 + bytes(r.value);
    if (r.headers) {
      size += 2;
      for (const name in r.headers) size += 2 + Buffer.byteLength(name) + 1 + 4 + bytes(r.headers[name]!);
    }
  }
  // Not from the pool: the whole ArrayBuffer is transferred, so it must hold nothing else.
  const out = Buffer.allocUnsafeSlow(size);
  let at = out.writeUInt32LE(records.length, 0);
  const put = (v: Buffer | string): void => {
    if (typeof v === 'string') {
      const n = out.write(v, at + 4);
      out.writeUInt32LE(n, at);
      at += 4 + n;
    } else {
      out.writeUInt32LE(v.length, at);
      v.copy(out, at + 4);
      at += 4 + v.length;
    }
  };
  for (const r of records) {
    const hasKey = r.key !== undefined && r.key !== null;
    const flags = (hasKey ? KEY : 0) | (r.value !== null ? VALUE : 0) | (r.partition !== undefined ? PARTITION : 0) |
      (r.timestamp !== undefined ? TIMESTAMP : 0) | (r.headers ? HEADERS : 0);
    at = out.writeUInt8(flags, at);
    if (r.partition !== undefined) at = out.writeInt32LE(r.partition, at);
    if (r.timestamp !== undefined) at = out.writeDoubleLE(r.timestamp, at);
    if (hasKey) put(r.key!);
    if (r.value !== null) put(r.value);
    if (r.headers) {
      const names = Object.keys(r.headers);
      at = out.writeUInt16LE(names.length, at);
      for (const name of names) {
        const n = out.write(name, at + 2);
        out.writeUInt16LE(n, at);
        at += 2 + n;
        const v = r.headers[name]!;
        at = out.writeUInt8(typeof v === 'string' ? 1 : 0, at);
        put(v);
      }
    }
  }
  return out.buffer;
}

export function decodeRecords(buffer: ArrayBuffer): ProduceRecord[] {
  const b = Buffer.from(buffer);
  const count = b.readUInt32LE(0);
  let at = 4;
  const take = (): Buffer => {
    const n = b.readUInt32LE(at);
    const v = b.subarray(at + 4, at + 4 + n);
    at += 4 + n;
    return v;
  };
  const records = new Array<ProduceRecord>(count);
  for (let i = 0; i < count; i++) {
    const flags = b[at++]!;
    const r: ProduceRecord = { value: null };
    if (flags & PARTITION) {
      r.partition = b.readInt32LE(at);
      at += 4;
    }
    if (flags & TIMESTAMP) {
      r.timestamp = b.readDoubleLE(at);
      at += 8;
    }
    if (flags & KEY) r.key = take();
    if (flags & VALUE) r.value = take();
    if (flags & HEADERS) {
      const n = b.readUInt16LE(at);
      at += 2;
      const headers: Record<string, Buffer | string> = {};
      for (let h = 0; h < n; h++) {
        const nameLength = b.readUInt16LE(at);
        const name = b.toString('utf8', at + 2, at + 2 + nameLength);
        at += 2 + nameLength;
        const kind = b[at++];
        const v = take();
        headers[name] = kind === 1 ? v.toString('utf8') : v;
      }
      r.headers = headers;
    }
    records[i] = r;
  }
  if (at !== b.length) throw new Error(`record buffer has ${b.length - at} bytes left over after ${count} records`);
  return records;
}
