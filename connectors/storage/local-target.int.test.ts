/**
 * "Complete or absent" on a real file system: a writer process is killed (SIGKILL, no clean-up) in the middle of
 * writing a large file; the final name must then be missing or hold every byte — never a prefix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalTarget, TEMP_SUFFIX } from './local-target.ts';

const SIZE = 64 * 1024 * 1024;

test('a writer killed mid-write leaves no partial file under the final name', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'tributary-storage-kill-'));
  try {
    const module = pathToFileURL(join(import.meta.dirname, 'local-target.ts')).href;
    const script = `const { LocalTarget } = await import(${JSON.stringify(module)});
      await new LocalTarget(${JSON.stringify(root)}).put('hub/0/2026/01/02/03/04-ep-1.avro', Buffer.alloc(${SIZE}, 7));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const dir = join(root, 'hub/0/2026/01/02/03');
    // Kill as soon as the temporary file exists, i.e. while the bytes are being written or synced.
    let sawTemp = false;
    for (let i = 0; i < 4000 && !sawTemp; i++) {
      sawTemp = (await readdir(dir).catch(() => [] as string[])).some((name) => name.endsWith(TEMP_SUFFIX));
      if (!sawTemp) await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    await exited;
    assert.ok(sawTemp, 'the writer created its temporary file');

    const final = join(dir, '04-ep-1.avro');
    const size = await stat(final).then((s) => s.size, () => undefined);
    t.diagnostic(size === undefined ? 'killed mid-write' : 'the write finished before the kill');
    if (size === undefined) {
      const left = await readdir(dir);
      assert.ok(left.every((n) => n.startsWith('.') && n.endsWith(TEMP_SUFFIX)), `only hidden temporary files remain: ${left.join(', ')}`);
    } else {
      // The write won the race with the kill: then the file must be whole.
      assert.equal(size, SIZE);
      assert.ok((await readFile(final)).every((b) => b === 7));
    }

    // The next attempt (the redelivered batch) replaces whatever is there with the complete file.
    await new LocalTarget(root).put('hub/0/2026/01/02/03/04-ep-1.avro', Buffer.alloc(1024, 9));
    assert.deepEqual(await readFile(final), Buffer.alloc(1024, 9));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
