/**
 * Kafka's default partitioning, shared by every Log implementation so a key lands on the same partition whether the
 * hub runs on EmbeddedLog or on a Kafka cluster (and whether the producer is this process, kafkajs or a Java client):
 *
 * - keyed records: `toPositive(murmur2(keyBytes)) % numPartitions`, exactly the mapping of the Java client's
 *   `BuiltInPartitioner.partitionForKey` / `Utils.murmur2` and of kafkajs' `Partitioners.DefaultPartitioner`;
 * - null keys: round-robin per topic from a random start (kafkajs' behaviour), so unkeyed traffic spreads.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/**
 * MurmurHash2, 32-bit, seed 0x9747b28c, as in org.apache.kafka.common.utils.Utils#murmur2. Returns the signed 32-bit
 * result the Java code returns (callers mask it with {@link toPositive}).
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    // Little-endian 4-byte word, as the Java code assembles it.
    let k = (data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24)) | 0;
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  // The Java switch on length % 4 falls through 3 → 2 → 1 and multiplies once; spelled out without fallthrough.
  const rest = length & 3;
  if (rest >= 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not Math.abs, which would map differently). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: Uint8Array | string, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new RangeError(`numPartitions must be a positive integer, got ${numPartitions}`);
  }
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return toPositive(murmur2(bytes)) % numPartitions;
}

/**
 * Chooses partitions for records without an explicit partition: keyed → murmur2, null key → round-robin per topic.
 * One instance per producer (the counters are its only state).
 */
export class DefaultPartitioner {
  readonly #counters = new Map<string, number>();

  partition(topic: string, key: Uint8Array | string | null | undefined, numPartitions: number): number {
    if (key !== null && key !== undefined) return partitionForKey(key, numPartitions);
    let counter = this.#counters.get(topic);
    // A random start per topic, as kafkajs does, so many short-lived producers do not all favour partition 0.
    if (counter === undefined) counter = Math.floor(Math.random() * 0x7fffffff);
    counter = (counter + 1) & 0x7fffffff;
    this.#counters.set(topic, counter);
    return counter % numPartitions;
  }
}
