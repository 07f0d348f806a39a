/**
 * One EmbeddedLog per data dir: groups and offsets live in the owning process's memory, so a second writer (another
 * process, or a second open() in this one) would corrupt both. The lock file holds the owner's pid; a lock left by a
 * process that no longer exists (a crash) is taken over.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TributaryError } from '../../errors/index.ts';

const heldInThisProcess = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DataDirLock {
  readonly #path: string;

  private constructor(path: string) {
    this.#path = path;
  }

  static async acquire(logDir: string): Promise<DataDirLock> {
    const path = join(resolve(logDir), '.lock');
    if (heldInThisProcess.has(path)) {
      throw new TributaryError('LogUnavailable', `The embedded log in ${logDir} is already open in this process; close it before opening it again, or share the instance.`);
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(path, 'wx');
        await handle.writeFile(String(process.pid));
        await handle.close();
        heldInThisProcess.add(path);
        return new DataDirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new TributaryError('LogUnavailable', `The embedded log in ${logDir} is in use by process ${owner}; stop it or use another data dir.`);
      }
      // Stale: its owner crashed (or was this process before a restart with the same pid).
      await rm(path, { force: true });
    }
    throw new TributaryError('LogUnavailable', `Could not lock ${path}; another process keeps creating it.`);
  }

  async release(): Promise<void> {
    heldInThisProcess.delete(this.#path);
    await rm(this.#path, { force: true });
  }
}
