import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { murmur2, partitionForKey, toPositive, DefaultPartitioner } from './partitioner.ts';

describe('partitioner', () => {
  test('murmur2 matches the values in Apache Kafka\'s UtilsTest.testMurmur2', () => {
    // Expected values as listed in Kafka's clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java.
    const cases: Array<[Uint8Array, number]> = [
      [Buffer.from('21'), -973932308],
      [Buffer.from('foobar'), -790332482],
      [Buffer.from('a-little-bit-long-string'), -985981536],
      [Buffer.from('a-little-bit-longer-string'), -1486304829],
      [Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
      [Buffer.from([0x61, 0x62, 0x63]), 479470107],
    ];
    for (const [input, expected] of cases) {
      assert.equal(murmur2(input), expected, `murmur2(${Buffer.from(input).toString()})`);
    }
  });

  test('keyed partition equals kafkajs DefaultPartitioner for random keys of every tail length', () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    for (const partitions of [1, 3, 7, 12, 100]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
        partitionId,
        leader: 1,
        replicas: [1],
        isr: [1],
        partitionErrorCode: 0,
      }));
      for (let i = 0; i < 400; i++) {
        const key = randomBytes(i % 37);
        const expected = kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } });
        assert.equal(partitionForKey(key, partitions), expected, `key ${key.toString('hex')} over ${partitions}`);
      }
    }
  });

  test('string keys hash their UTF-8 bytes', () => {
    const key = 'device-é-42';
    assert.equal(partitionForKey(key, 16), partitionForKey(Buffer.from(key, 'utf8'), 16));
  });

  test('toPositive masks the sign bit instead of negating', () => {
    assert.equal(toPositive(-1), 0x7fffffff);
    assert.equal(toPositive(-2147483648), 0);
    assert.equal(toPositive(5), 5);
  });

  test('null keys go round-robin over all partitions', () => {
    const p = new DefaultPartitioner();
    const seen = new Map<number, number>();
    for (let i = 0; i < 30; i++) {
      const partition = p.partition('t', null, 3);
      seen.set(partition, (seen.get(partition) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), [0, 1, 2]);
    assert.deepEqual([...seen.values()], [10, 10, 10]);
  });

  test('rejects a non-positive partition count', () => {
    assert.throws(() => partitionForKey('k', 0), RangeError);
  });
});
