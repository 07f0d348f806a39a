/**
 * One partition of a topic: its segments under `<dataDir>/log/<topic>/<partition>/`, the group-commit appender,
 * reads bounded by record count and bytes, wake-ups for waiting consumers, and retention by whole segments.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { syncDir } from './atomic-file.ts';
import { TributaryError } from '../../errors/index.ts';
import { componentLogger } from '../../logging/logger.ts';
import { BatchingAppender } from './appender.ts';
import { encodeFrame, frameSize, type EncodableRecord } from './framing.ts';
import { Segment, parseSegmentFileName } from './segment.ts';
import type { LogRecord } from '../types.ts';

const log = componentLogger('embedded-log');

export interface PartitionSettings {
  segmentBytes: number;
  /** -1 = unlimited, as in Kafka. */
  retentionBytes: number;
  retentionMs: number;
  fsync: boolean;
  maxFlushBytes: number;
}

export type ReadResult = { kind: 'records'; records: LogRecord[] } | { kind: 'out-of-range'; startOffset: number; endOffset: number };

export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  readonly #settings: PartitionSettings;
  #segments: Segment[];
  readonly #appender: BatchingAppender<EncodableRecord>;
  #waiters = new Set<() => void>();
  #closed = false;

  private constructor(topic: string, partition: number, dir: string, settings: PartitionSettings, segments: Segment[]) {
    this.topic = topic;
    this.partition = partition;
    this.dir = dir;
    this.#settings = settings;
    this.#segments = segments;
    this.#appender = new BatchingAppender<EncodableRecord>({
      write: (records) => this.#write(records),
      sizeOf: frameSize,
      maxFlushBytes: settings.maxFlushBytes,
    });
  }

  static async open(dir: string, topic: string, partition: number, settings: PartitionSettings): Promise<PartitionLog> {
    await mkdir(dir, { recursive: true });
    const bases = (await readdir(dir))
      .map(parseSegmentFileName)
      .filter((base): base is number => base !== undefined)
      .sort((a, b) => a - b);
    const segments: Segment[] = [];
    try {
      for (let i = 0; i < bases.length - 1; i++) segments.push(await Segment.openSealed(dir, bases[i]!, bases[i + 1]!));
      const last = bases.at(-1);
      if (last === undefined) {
        segments.push(await Segment.create(dir, 0));
        // The new file's directory entry must be durable before the first append is acknowledged.
        if (settings.fsync) await syncDir(dir);
      } else {
        segments.push(await Segment.openActive(dir, last, { topic, partition }));
      }
    } catch (err) {
      await Promise.all(segments.map((s) => s.close()));
      throw err;
    }
    return new PartitionLog(topic, partition, dir, settings, segments);
  }

  /** Oldest retained offset (Kafka's log start offset). */
  get startOffset(): number {
    return this.#segments[0]!.baseOffset;
  }

  /** Offset the next appended record gets; records below it are durable and readable. */
  get endOffset(): number {
    return this.#active.nextOffset;
  }

  get sizeBytes(): number {
    return this.#segments.reduce((sum, s) => sum + s.size, 0);
  }

  get segmentCount(): number {
    return this.#segments.length;
  }

  get flushCount(): number {
    return this.#appender.flushCount;
  }

  get #active(): Segment {
    return this.#segments.at(-1)!;
  }

  /** Appends records in order (batched with concurrent callers); resolves with the first record's offset. */
  append(records: EncodableRecord[]): Promise<number> {
    if (this.#closed) return Promise.reject(closedError(this.topic));
    return this.#appender.append(records);
  }

  /** Reads from `fromOffset`: at most maxRecords, at most maxBytes unless the first record alone is larger. */
  async read(fromOffset: number, maxRecords: number, maxBytes: number): Promise<ReadResult> {
    if (this.#closed) throw closedError(this.topic);
    const startOffset = this.startOffset;
    const endOffset = this.endOffset;
    if (fromOffset < startOffset || fromOffset > endOffset) return { kind: 'out-of-range', startOffset, endOffset };
    if (fromOffset === endOffset) return { kind: 'records', records: [] };
    const segments = this.#segments.slice();
    let index = segments.length - 1;
    while (index > 0 && segments[index]!.baseOffset > fromOffset) index--;
    // A batch never spans segments: the first segment with records at or after fromOffset answers the read.
    for (; index < segments.length; index++) {
      const segment = segments[index]!;
      if (segment.nextOffset <= fromOffset) continue;
      const { records } = await segment.read(fromOffset, maxRecords, maxBytes, this.topic, this.partition);
      if (records.length > 0) return { kind: 'records', records };
    }
    // Below the end yet nothing readable: the segment is damaged. Fail the read (the fetcher backs off and retries)
    // rather than answering "caught up", which would spin the fetch loop.
    throw new TributaryError('LogUnavailable', `No readable record at ${this.topic}/${this.partition}@${fromOffset} below end offset ${this.endOffset}; a segment in ${this.dir} is damaged.`);
  }

  /** Resolves when a record at `offset` or later is readable, the partition closes, or `signal` aborts. */
  waitForData(offset: number, signal: AbortSignal): Promise<void> {
    if (this.endOffset > offset || this.#closed || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        this.#waiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      this.#waiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  /**
   * Deletes whole sealed segments, oldest first, while the partition holds more than retention.bytes even without
   * the segment, or the segment's newest record is older than retention.ms — Kafka's rules; the active segment stays.
   */
  async enforceRetention(now = Date.now()): Promise<number> {
    const { retentionBytes, retentionMs } = this.#settings;
    let total = this.sizeBytes;
    let deleted = 0;
    while (this.#segments.length > 1 && !this.#closed) {
      const oldest = this.#segments[0]!;
      const overSize = retentionBytes >= 0 && total - oldest.size >= retentionBytes;
      const expired = retentionMs >= 0 && now - oldest.maxTimestamp > retentionMs;
      if (!overSize && !expired) break;
      this.#segments.shift();
      total -= oldest.size;
      await oldest.close(true);
      deleted++;
      log.info({ topic: this.topic, partition: this.partition, segment: oldest.baseOffset, overSize, expired }, 'retention deleted segment');
    }
    return deleted;
  }

  /** Waits for queued appends, then closes the files; `remove` deletes the partition directory (topic deletion). */
  async close(remove = false): Promise<void> {
    if (this.#closed) return;
    await this.#appender.flush();
    this.#closed = true;
    this.#wakeAll();
    await Promise.all(this.#segments.map((s) => s.close()));
    if (remove) await rm(this.dir, { recursive: true, force: true });
  }

  async #write(records: EncodableRecord[]): Promise<number> {
    if (this.#closed) throw closedError(this.topic);
    const sizes = records.map(frameSize);
    const total = sizes.reduce((a, b) => a + b, 0);
    if (!this.#active.isEmpty && this.#active.size + total > this.#settings.segmentBytes) await this.#roll();
    const frames = Buffer.allocUnsafe(total);
    const positions: number[] = [];
    const firstOffset = this.#active.nextOffset;
    let position = 0;
    let maxTimestamp = -1;
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      positions.push(position);
      position = encodeFrame(record, firstOffset + i, frames, position);
      if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
    }
    try {
      await this.#active.append(frames, positions, firstOffset, maxTimestamp, this.#settings.fsync);
    } catch (err) {
      throw new TributaryError('LogUnavailable', `Could not append to ${this.topic}/${this.partition} in ${this.dir}: ${(err as Error).message}. Check free disk space and permissions of the data dir.`, { cause: err });
    }
    this.#wakeAll();
    return firstOffset;
  }

  async #roll(): Promise<void> {
    const segment = await Segment.create(this.dir, this.#active.nextOffset);
    if (this.#settings.fsync) await syncDir(this.dir);
    this.#segments.push(segment);
    await this.enforceRetention();
  }

  #wakeAll(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}

function closedError(topic: string): TributaryError {
  return new TributaryError('LogClosed', `Partition of ${topic} is closed (the log was closed or the topic deleted); open the log again.`);
}
