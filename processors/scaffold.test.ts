import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { scaffoldProcessor } from './scaffold.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-scaffold-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/**
 * Typechecks generated files as if they sat in this repository (at processors/<name>/), without writing into it: a
 * compiler host serves them from memory and everything else from disk, with the repository's tsconfig.
 */
function typecheck(files: Record<string, string>): string[] {
  const config = ts.readConfigFile(join(repoRoot, 'tsconfig.json'), (p) => ts.sys.readFile(p));
  const options = ts.parseJsonConfigFileContent(config.config, ts.sys, repoRoot).options;
  const host = ts.createCompilerHost(options);
  const virtual = new Map(Object.entries(files).map(([rel, text]) => [join(repoRoot, rel), text]));
  const { getSourceFile, fileExists, readFile: read } = host;
  const { directoryExists } = host;
  host.fileExists = (p) => virtual.has(p) || fileExists.call(host, p);
  host.directoryExists = (p) => [...virtual.keys()].some((k) => k.startsWith(`${p}/`)) || (directoryExists?.call(host, p) ?? ts.sys.directoryExists(p));
  host.readFile = (p) => virtual.get(p) ?? read.call(host, p);
  host.getSourceFile = (p, lang, onError, create) => {
    const text = virtual.get(p);
    return text === undefined ? getSourceFile.call(host, p, lang, onError, create) : ts.createSourceFile(p, text, lang);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

test('scaffolds a processor and its test that typecheck in the repository layout', async () => {
  const result = await scaffoldProcessor('door-open-alert', dir);
  assert.deepEqual(result.files, ['processors/door-open-alert/door-open-alert.ts', 'processors/door-open-alert/door-open-alert.test.ts']);
  assert.equal(result.exportName, 'doorOpenAlert');
  const [source, testSource] = await Promise.all(result.files.map((f) => readFile(join(dir, f), 'utf8')));
  assert.match(source!, /export const doorOpenAlert = defineProcessor\(\{\n {2}name: 'door-open-alert',/);
  assert.match(testSource!, /import \{ doorOpenAlert \} from '\.\/door-open-alert\.ts';/);
  assert.doesNotMatch(source! + testSource!, /__NAME__|__EXPORT__/);
  assert.deepEqual(typecheck({ [result.files[0]!]: source!, [result.files[1]!]: testSource! }), []);
});

test('the typecheck above can fail: a broken generated file is reported', () => {
  const problems = typecheck({ 'processors/broken-x/broken-x.ts': "import { nothing } from '../runtime/define-processor.ts';\nexport const x: number = nothing;\n" });
  assert.ok(problems.length > 0);
});

test('refuses names that are not kebab-case and folders that exist', async () => {
  for (const name of ['DoorAlert', 'door_alert', '-x', 'x-', 'a--b', '1x', 'runtime', '../escape']) {
    await assert.rejects(scaffoldProcessor(name, dir), { code: 'ArgumentInvalid' }, name);
  }
  await assert.rejects(scaffoldProcessor('door-open-alert', dir), { code: 'InvalidOperation', message: /already exists/ });
});
