import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { splitIntoFiles } from './split-files.ts';

const items = (from: number, to: number, size = 10) => Array.from({ length: to - from }, (_, i) => ({ offset: from + i, size }));
const offsets = (files: { offset: number }[][]) => files.map((f) => f.map((i) => i.offset));
const big = { maxBytes: 1_000_000, overheadBytes: 0 };

describe('splitIntoFiles', () => {
  it('keeps a batch inside one offset window in one file', () => {
    assert.deepEqual(offsets(splitIntoFiles(items(100, 150), { maxRecords: 100, ...big })), [Array.from({ length: 50 }, (_, i) => 100 + i)]);
  });

  it('cuts at multiples of maxRecords, whatever the batch start', () => {
    const files = splitIntoFiles(items(7, 23), { maxRecords: 5, ...big });
    assert.deepEqual(offsets(files), [[7, 8, 9], [10, 11, 12, 13, 14], [15, 16, 17, 18, 19], [20, 21, 22]]);
  });

  it('a redelivered batch that ends elsewhere yields the same files up to its end', () => {
    const first = offsets(splitIntoFiles(items(7, 23), { maxRecords: 5, ...big }));
    const shorter = offsets(splitIntoFiles(items(7, 16), { maxRecords: 5, ...big }));
    const rest = offsets(splitIntoFiles(items(16, 23), { maxRecords: 5, ...big }));
    assert.deepEqual(shorter.slice(0, 2), first.slice(0, 2));
    // The shorter batch's last file (15) and the next batch's first (16…19) together hold what file 15 held before.
    assert.deepEqual([...shorter[2]!, ...rest[0]!], first[2]);
    assert.deepEqual(rest.slice(1), first.slice(3));
  });

  it('offset gaps (compaction, transaction markers) still never put more than maxRecords in a file', () => {
    const gappy = [0, 1, 4, 6, 9, 10, 30].map((offset) => ({ offset, size: 1 }));
    assert.deepEqual(offsets(splitIntoFiles(gappy, { maxRecords: 5, ...big })), [[0, 1, 4], [6, 9], [10], [30]]);
  });

  it('cuts where the next message would exceed maxBytes, counting the per-file overhead', () => {
    // 100-byte budget, 20 bytes of overhead: 80 bytes of messages, i.e. 4 of 20 bytes.
    const files = splitIntoFiles(items(0, 10, 20), { maxRecords: 1000, maxBytes: 100, overheadBytes: 20 });
    assert.deepEqual(offsets(files), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });

  it('a message larger than maxBytes gets a file of its own instead of being dropped', () => {
    const list = [{ offset: 0, size: 10 }, { offset: 1, size: 500 }, { offset: 2, size: 10 }];
    assert.deepEqual(offsets(splitIntoFiles(list, { maxRecords: 1000, maxBytes: 100, overheadBytes: 0 })), [[0], [1], [2]]);
  });

  it('no messages, no files', () => {
    assert.deepEqual(splitIntoFiles([], { maxRecords: 5, ...big }), []);
  });
});
