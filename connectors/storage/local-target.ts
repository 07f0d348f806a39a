/**
 * Files under a local directory, each complete or absent: the bytes go to a hidden temporary file in the target's own
 * directory, are fsynced, and the temporary file is renamed over the final name. rename(2) within one file system is
 * atomic, so a reader (or the file after a crash) sees the old file, the new one or none — never part of one. The
 * directory is fsynced after the rename (and new directories after their creation) so that the name itself survives a
 * power loss once the batch is committed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { TributaryError } from '../../core/errors/index.ts';
import { SinkError } from '../runtime/define-connector.ts';
import type { FileTarget } from './target.ts';

/** Temporary files are dot-files ending in `.tmp`; readers that skip dot-files never see them. */
export const TEMP_SUFFIX = '.tmp';

export class LocalTarget implements FileTarget {
  private readonly root: string;

  constructor(directory: string) {
    this.root = resolve(directory);
  }

  describe(): string {
    return `directory ${this.root}`;
  }

  async connect(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
    } catch (err) {
      throw new TributaryError('ConfigInvalid', `connector storage: cannot create directory ${this.root}: ${errorText(err)}; fix \`directory\` or its permissions`, { cause: err });
    }
  }

  async put(name: string, body: Buffer): Promise<void> {
    const path = join(this.root, ...name.split('/'));
    // The file name format admits no "..", so this holds; checked anyway because it guards the file system.
    if (relative(this.root, path).startsWith(`..${sep}`)) throw new SinkError(`file name ${name} escapes ${this.root}`, { retriable: false, code: 'ConfigInvalid' });
    const dir = dirname(path);
    const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
    try {
      const created = await mkdir(dir, { recursive: true });
      if (created !== undefined) await syncNewDirectories(created, dir);
      const handle = await open(temp, 'wx', 0o644);
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
      await syncDirectory(dir);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => {});
      // A full disk, a read-only remount, lost permissions: nothing a retry later cannot fix once the operator has.
      throw new SinkError(`cannot write ${path}: ${errorText(err)}; check free space and permissions of ${this.root} — the batch is retried`, { retriable: true, cause: err });
    }
  }

  async close(): Promise<void> {}
}

/** mkdir -p created `first` and everything below it down to `last`: persist each new entry in its parent. */
async function syncNewDirectories(first: string, last: string): Promise<void> {
  let dir = last;
  const chain: string[] = [];
  while (dir.length >= first.length) {
    chain.push(dirname(dir));
    if (dir === first) break;
    dir = dirname(dir);
  }
  for (const parent of chain.reverse()) await syncDirectory(parent);
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
