/**
 * One segment file of a partition: `<baseOffset, 20 digits>.log`, frames appended back to back (framing.ts).
 *
 * The index is sparse and in memory (an entry every INDEX_INTERVAL_BYTES), rebuilt by scanning: the active segment is
 * scanned at open (that is where a torn tail can be, and it is truncated there), sealed segments only when first read,
 * so opening a large data dir costs one segment per partition rather than the whole log.
 */
import { open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { componentLogger } from '../../logging/logger.ts';
import { decodeFrame, peekFrame, probeFrame } from './framing.ts';
import type { LogRecord } from '../types.ts';

const log = componentLogger('embedded-log');

const INDEX_INTERVAL_BYTES = 4096;
const READ_CHUNK_BYTES = 256 * 1024;
/** Larger than any record the log accepts; a length prefix above it can only be garbage from a torn write. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

export function parseSegmentFileName(name: string): number | undefined {
  const match = /^(\d{20})\.log$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

export interface SegmentReadResult {
  records: LogRecord[];
  bytes: number;
}

export class Segment {
  readonly baseOffset: number;
  readonly path: string;
  /** Bytes of whole, durable frames; reads never go past it, appends start at it. */
  size = 0;
  /** Offset after the last record (baseOffset when empty). For an unscanned sealed segment: the next one's base. */
  nextOffset: number;
  /** Largest record timestamp, which retention.ms compares against (Kafka's rule); mtime until scanned. */
  maxTimestamp = -1;
  #fd: FileHandle;
  #indexOffsets: number[] = [];
  #indexPositions: number[] = [];
  #lastIndexedPosition = -INDEX_INTERVAL_BYTES;
  #scanned = false;
  #lazyScan: Promise<unknown> | undefined;
  #readers = 0;
  #deleted = false;

  private constructor(dir: string, baseOffset: number, fd: FileHandle) {
    this.baseOffset = baseOffset;
    this.nextOffset = baseOffset;
    this.path = join(dir, segmentFileName(baseOffset));
    this.#fd = fd;
  }

  static async create(dir: string, baseOffset: number): Promise<Segment> {
    const fd = await open(join(dir, segmentFileName(baseOffset)), 'wx+');
    const segment = new Segment(dir, baseOffset, fd);
    segment.#scanned = true;
    return segment;
  }

  /** Opens the active (last) segment: scans every frame and truncates anything after the last valid one. */
  static async openActive(dir: string, baseOffset: number, context: Record<string, unknown>): Promise<Segment> {
    const segment = new Segment(dir, baseOffset, await open(join(dir, segmentFileName(baseOffset)), 'r+'));
    const fileSize = (await segment.#fd.stat()).size;
    const { validEnd, corruption } = await segment.#scan(fileSize);
    if (validEnd < fileSize) {
      // A crash mid-append leaves a partial frame; it was never acknowledged (produce resolves after fsync), so
      // dropping it loses nothing a producer was promised.
      log.warn({ ...context, segment: segment.path, validEnd, fileSize, corruption }, 'truncating torn tail of segment');
      await segment.#fd.truncate(validEnd);
      await segment.#fd.sync();
    }
    return segment;
  }

  /** Opens a sealed segment without reading it; `nextOffset` is the base offset of the segment after it. */
  static async openSealed(dir: string, baseOffset: number, nextOffset: number): Promise<Segment> {
    const path = join(dir, segmentFileName(baseOffset));
    const info = await stat(path);
    const segment = new Segment(dir, baseOffset, await open(path, 'r'));
    segment.size = info.size;
    segment.nextOffset = nextOffset;
    // Kafka before 0.10.1 used the file mtime for time retention; it is the right bound until the segment is scanned.
    segment.maxTimestamp = info.mtimeMs;
    return segment;
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  /** Appends already-encoded frames (one write, then fsync when asked), then publishes them to readers. */
  async append(frames: Buffer, framePositions: number[], firstOffset: number, maxTimestamp: number, fsync: boolean): Promise<void> {
    const start = this.size;
    try {
      let written = 0;
      while (written < frames.length) {
        const { bytesWritten } = await this.#fd.write(frames, written, frames.length - written, start + written);
        written += bytesWritten;
      }
      if (fsync) await this.#fd.datasync();
    } catch (err) {
      // Leave no half-written batch behind for the next append to follow.
      await this.#fd.truncate(start).catch(() => undefined);
      throw err;
    }
    for (let i = 0; i < framePositions.length; i++) this.#indexFrame(start + framePositions[i]!, firstOffset + i);
    this.size = start + frames.length;
    this.nextOffset = firstOffset + framePositions.length;
    if (maxTimestamp > this.maxTimestamp) this.maxTimestamp = maxTimestamp;
  }

  async sync(): Promise<void> {
    await this.#fd.datasync();
  }

  /** Reads records with offset ≥ fromOffset: at most maxRecords, and at most maxBytes unless that is one record. */
  async read(fromOffset: number, maxRecords: number, maxBytes: number, topic: string, partition: number): Promise<SegmentReadResult> {
    const result: SegmentReadResult = { records: [], bytes: 0 };
    if (this.#deleted) return result;
    this.#readers++;
    try {
      if (!this.#scanned) {
        this.#lazyScan ??= this.#scan(this.size);
        await this.#lazyScan;
      }
      let position = this.#indexPositionFor(fromOffset);
      const end = this.size;
      let chunk: Buffer = Buffer.alloc(0);
      let chunkStart = position;
      while (position < end && result.records.length < maxRecords) {
        let probe = probeFrame(chunk, position - chunkStart, MAX_FRAME_BYTES);
        // Refill from `position`: once for the frame header, once more if the frame is bigger than a chunk.
        for (let refill = 0; refill < 2 && probe.kind === 'incomplete' && probe.needed <= end - position; refill++) {
          chunkStart = position;
          chunk = await this.#readAt(position, Math.min(end - position, Math.max(READ_CHUNK_BYTES, probe.needed)));
          probe = probeFrame(chunk, 0, MAX_FRAME_BYTES);
        }
        if (probe.kind !== 'frame') {
          log.error({ segment: this.path, position, probe }, 'unreadable frame inside a segment; skipping the rest of it');
          break;
        }
        const at = position - chunkStart;
        const { offset } = peekFrame(chunk, at);
        if (offset >= fromOffset) {
          if (result.records.length > 0 && result.bytes + probe.size > maxBytes) break;
          result.records.push(decodeFrame(chunk, at, topic, partition));
          result.bytes += probe.size;
        }
        position += probe.size;
      }
      return result;
    } finally {
      this.#readers--;
      if (this.#deleted && this.#readers === 0) await this.#fd.close().catch(() => undefined);
    }
  }

  /** Closes the file; with `unlink`, removes it too (retention). Readers in flight finish on the open descriptor. */
  async close(unlinkFile = false): Promise<void> {
    if (this.#deleted) return;
    this.#deleted = true;
    if (unlinkFile) await unlink(this.path);
    if (this.#readers === 0) await this.#fd.close();
  }

  #indexFrame(position: number, offset: number): void {
    if (position - this.#lastIndexedPosition < INDEX_INTERVAL_BYTES) return;
    this.#indexOffsets.push(offset);
    this.#indexPositions.push(position);
    this.#lastIndexedPosition = position;
  }

  /** Position of the last indexed frame with offset ≤ target (0 when none). */
  #indexPositionFor(target: number): number {
    let lo = 0;
    let hi = this.#indexOffsets.length - 1;
    let best = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#indexOffsets[mid]! <= target) {
        best = this.#indexPositions[mid]!;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  async #readAt(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let read = 0;
    while (read < length) {
      const { bytesRead } = await this.#fd.read(buf, read, length - read, position + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return read === length ? buf : buf.subarray(0, read);
  }

  /** Validates frames from the start up to `limit`, rebuilding index, nextOffset, maxTimestamp and size. */
  async #scan(limit: number): Promise<{ validEnd: number; corruption?: string }> {
    this.#indexOffsets = [];
    this.#indexPositions = [];
    this.#lastIndexedPosition = -INDEX_INTERVAL_BYTES;
    let position = 0;
    let maxTimestamp = -1;
    let nextOffset = this.baseOffset;
    let corruption: string | undefined;
    while (position < limit) {
      const chunk = await this.#readAt(position, Math.min(limit - position, READ_CHUNK_BYTES));
      let at = 0;
      let probe = probeFrame(chunk, at, MAX_FRAME_BYTES);
      if (probe.kind === 'incomplete' && probe.needed <= limit - position) {
        // A frame larger than the chunk: read exactly it.
        const whole = await this.#readAt(position, probe.needed);
        probe = probeFrame(whole, 0, MAX_FRAME_BYTES);
        if (probe.kind !== 'frame') {
          corruption = probe.kind === 'corrupt' ? probe.reason : 'frame cut short';
          break;
        }
        const { offset, timestamp } = peekFrame(whole, 0);
        this.#indexFrame(position, offset);
        nextOffset = offset + 1;
        if (timestamp > maxTimestamp) maxTimestamp = timestamp;
        position += probe.size;
        continue;
      }
      while (probe.kind === 'frame') {
        const { offset, timestamp } = peekFrame(chunk, at);
        this.#indexFrame(position + at, offset);
        nextOffset = offset + 1;
        if (timestamp > maxTimestamp) maxTimestamp = timestamp;
        at += probe.size;
        probe = probeFrame(chunk, at, MAX_FRAME_BYTES);
      }
      position += at;
      if (probe.kind === 'corrupt') {
        corruption = probe.reason;
        break;
      }
      if (at === 0) {
        corruption = 'frame cut short';
        break;
      }
    }
    this.size = position;
    this.nextOffset = nextOffset;
    this.maxTimestamp = maxTimestamp;
    this.#scanned = true;
    return corruption === undefined ? { validEnd: position } : { validEnd: position, corruption };
  }
}
