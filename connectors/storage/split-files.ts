/**
 * How a batch becomes files. A new file starts
 *   1. at the batch's first message,
 *   2. where the offset crosses a multiple of `maxRecords` (offset windows [k·N, (k+1)·N)), and
 *   3. where the next message would take the file over `maxBytes`.
 * Rules 1 and 2 depend only on the message itself, not on where the batch began, so a redelivered batch that starts
 * at the same offset (which it does: the runtime redelivers from the last commit) but ends elsewhere produces the
 * same files up to its new end. Rule 3 accumulates from the file's start, so it is stable only while the batch
 * start is; docs/connectors/storage.md spells out what that means after a crash.
 */

export interface Sized {
  /** Offset in the endpoint topic partition. */
  readonly offset: number;
  /** Encoded bytes the item adds to a file. */
  readonly size: number;
}

export interface SplitLimits {
  maxRecords: number;
  maxBytes: number;
  /** Bytes every file carries besides its records (the Avro header); 0 for JSON lines. */
  overheadBytes: number;
}

/** Splits items (in offset order) into files; an item larger than `maxBytes` on its own gets a file of its own. */
export function splitIntoFiles<T extends Sized>(items: readonly T[], limits: SplitLimits): T[][] {
  const files: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const first = current[0];
    const newWindow = first !== undefined && Math.floor(item.offset / limits.maxRecords) !== Math.floor(first.offset / limits.maxRecords);
    const tooBig = first !== undefined && limits.overheadBytes + bytes + item.size > limits.maxBytes;
    if (newWindow || tooBig) {
      files.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.size;
  }
  if (current.length > 0) files.push(current);
  return files;
}
