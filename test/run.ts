/**
 * `npm test`: brings up the real services the integration tests use (infra/up.sh: Kafka, the Schema Registry,
 * ClickHouse; checks PostgreSQL and RabbitMQ), then runs every `*.test.ts` with node's test runner.
 *
 *   npm test                      everything (unit + integration against the real services)
 *   npm test -- --unit            unit tests only (`*.int.test.ts` and test/ are skipped; no services started)
 *   npm test -- core/log          only files whose path contains one of the given fragments
 *   TRIBUTARY_TEST_INFRA=external  use services that are already running elsewhere; do not call infra/up.sh
 */
import { spawnSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const SOURCE_DIRS = ['core', 'ingest', 'service', 'processors', 'connectors', 'provisioning', 'load-tests', 'cli', 'test', 'schemas'];

function findTests(dir: string, out: string[] = []): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) findTests(path, out);
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => !a.startsWith('--'));
const isIntegration = (file: string) => file.endsWith('.int.test.ts') || file.startsWith('test/');

let files = SOURCE_DIRS.flatMap((d) => findTests(join(root, d))).sort();
if (unitOnly) files = files.filter((f) => !isIntegration(f));
if (filters.length > 0) files = files.filter((f) => filters.some((frag) => f.includes(frag)));
if (files.length === 0) {
  console.error(`no test files matched ${filters.join(' ') || '(all)'}`);
  process.exit(1);
}

const needsInfra = files.some(isIntegration) && process.env.TRIBUTARY_TEST_INFRA !== 'external';
if (needsInfra) {
  console.log('test: starting the real services the integration tests use (npm run infra:up)…');
  const up = spawnSync('bash', [join(root, 'infra/up.sh')], { stdio: 'inherit' });
  if (up.status !== 0) {
    console.error('test: infra/up.sh failed, so the integration tests cannot run; the service log tail is above.');
    process.exit(up.status ?? 1);
  }
}

console.log(`test: running ${files.length} test files`);
// Two files at a time: the integration tests wait on I/O far more than they compute, and the machine has 2 cores.
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: root, env: { ...process.env, TRIBUTARY_TEST: '1' } },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
