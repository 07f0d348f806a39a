/** Small-file persistence that survives a crash at any point: write a temp file, fsync it, rename over, fsync dir. */
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Replaces `path` with `data` atomically: a reader (or a restart) sees the old content or the new, never a mix. */
export async function writeFileAtomic(path: string, data: string | Buffer, fsync: boolean): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    if (fsync) await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  if (fsync) await syncDir(dirname(path));
}

/** fsyncs a directory so an entry created or renamed in it survives a power loss. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
