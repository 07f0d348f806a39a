/**
 * `npm test`: brings up the real services the integration tests use (infra/up.sh: Kafka, the Schema Registry,
 * ClickHouse; checks PostgreSQL and RabbitMQ), then runs every `*.test.ts` with node's test runner.
 *
 *   npm test                      everything (unit + integration against the real services)
 *   npm test -- --unit            unit tests only (`*.int.test.ts` and test/ are skipped; no services started)
 *   npm test -- core/log          only files whose path contains one of the given fragments
 *   TRIBUTARY_TEST_INFRA=external  use services that are already running elsewhere; do not call infra/up.sh
 *
 * `*.e2e.test.ts` files bind the fixed ports the official SDKs insist on (443, 8883) and run last, one at a time.
 * The runner prints one closing line for the whole run: `test: N passed, N failed, N skipped`.
 */
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
const isIntegration = (file: string) => file.endsWith('.int.test.ts') || file.endsWith('.e2e.test.ts') || file.startsWith('test/');

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

// Files that bind the hub's fixed ports (443, 8883: the official SDKs cannot be pointed elsewhere, iothub-wire.md §0)
// run after the rest, one at a time; everything else runs two files at a time (the tests mostly wait on I/O).
const isE2e = (file: string) => file.endsWith('.e2e.test.ts');
const phases = [
  { name: 'unit and integration', files: files.filter((f) => !isE2e(f)), concurrency: 2 },
  { name: 'end-to-end (fixed ports, one file at a time)', files: files.filter(isE2e), concurrency: 1 },
].filter((p) => p.files.length > 0);

const tapDir = mkdtempSync(join(tmpdir(), 'tributary-test-'));
const env = { ...process.env, TRIBUTARY_TEST: '1', ...(await testTrust()) };
let failedPhases = 0;
const totals = { pass: 0, fail: 0, skipped: 0 };
for (const [i, phase] of phases.entries()) {
  console.log(`test: ${phase.name}: ${phase.files.length} files`);
  const tap = join(tapDir, `phase-${i}.tap`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${phase.concurrency}`, '--test-timeout=600000',
        '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...phase.files],
      { stdio: 'inherit', cwd: root, env },
    );
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  if (code !== 0) failedPhases++;
  const summary = readFileSync(tap, 'utf8');
  for (const key of ['pass', 'fail', 'skipped'] as const) totals[key] += Number(summary.match(new RegExp(`^# ${key} (\\d+)$`, 'm'))?.[1] ?? 0);
}
rmSync(tapDir, { recursive: true, force: true });
// One closing line for the whole run, across phases.
console.log(`\ntest: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
process.exit(failedPhases > 0 || totals.fail > 0 ? 1 : 0);

/**
 * The SDKs verify the hub's certificate and Node reads extra trust anchors only at start-up (NODE_EXTRA_CA_CERTS), so
 * the runner makes one test CA before the test processes start; test hubs issue their server certificates from it.
 */
async function testTrust(): Promise<Record<string, string>> {
  const dir = join(root, '.tributary', 'test-ca');
  const caPath = join(dir, 'ca.pem');
  const keyPath = join(dir, 'ca-key.pem');
  if (!existsSync(caPath) || !existsSync(keyPath)) {
    const { createCertificateAuthority } = await import('../core/tls/index.ts');
    const ca = await createCertificateAuthority({ commonName: 'Tributary test CA', validityDays: 3650 });
    mkdirSync(dir, { recursive: true });
    writeFileSync(keyPath, ca.keyPem, { mode: 0o600 });
    writeFileSync(caPath, ca.certPem);
  }
  return { NODE_EXTRA_CA_CERTS: caPath, TRIBUTARY_TEST_CA: caPath, TRIBUTARY_TEST_CA_KEY: keyPath };
}
