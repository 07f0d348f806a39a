import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * Docs generated from code (configuration reference, error codes) are committed, and a test fails when they are
 * stale. Both generators share this: write the rendered text (or, with `check`, only compare) and report whether
 * the file on disk was already current.
 */
export function writeGeneratedDoc(path: string, rendered: string, options: { check?: boolean } = {}): boolean {
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === rendered) return true;
  if (!options.check) writeFileSync(path, rendered);
  return false;
}

/** The command-line entry of a generator module: `node --import tsx <module> [--check]`. */
export function runDocGenerator(moduleUrl: string, path: string, write: (options: { check: boolean }) => boolean): void {
  if (process.argv[1] === undefined || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  const check = process.argv.includes('--check');
  const current = write({ check });
  if (check && !current) {
    process.stderr.write(`${path} is stale; run: node --import tsx ${process.argv[1]}\n`);
    process.exit(1);
  }
  process.stdout.write(`${path} ${current ? 'is up to date' : 'written'}\n`);
}
