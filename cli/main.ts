/**
 * The `tributary` command: `start` runs the hub, `bench` runs a benchmark, `infra` drives the service scripts,
 * `config` shows or checks the effective configuration. Errors print their code and what to do, then exit non-zero.
 */
import { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TributaryError } from '../core/errors/index.ts';
import { BENCHMARKS } from './commands/benchmarks.ts';
import { registerIdentityCommands } from './commands/identity.ts';
import { registerRoutingCommands } from './commands/routing.ts';

const root = join(import.meta.dirname, '..');
const program = new Command('tributary').description('Self-hosted IoT hub with Azure IoT Hub protocols on Apache Kafka');

program
  .command('start')
  .description('run every role of the hub in this process (embedded defaults unless TRIBUTARY_* settings say otherwise)')
  .option('-c, --config <file>', 'JSON configuration file (overridden by TRIBUTARY_* environment variables)')
  .action(async (opts: { config?: string }) => {
    const { startHubCommand } = await import('./commands/start.ts');
    await startHubCommand({ configFile: opts.config });
  });

program
  .command('bench')
  .description(`run a benchmark: ${Object.keys(BENCHMARKS).join(', ')}`)
  .argument('<name>', 'benchmark name')
  .argument('[args...]', 'arguments passed to the benchmark')
  .allowUnknownOption()
  .action(async (name: string, args: string[]) => {
    const load = BENCHMARKS[name];
    if (!load) throw new TributaryError('ArgumentInvalid', `unknown benchmark "${name}"; available: ${Object.keys(BENCHMARKS).join(', ')}`);
    const bench = await load();
    await bench.run(args);
  });

const infra = program.command('infra').description('install, start and stop Kafka, the Schema Registry and ClickHouse');
for (const [verb, script] of [['up', 'up.sh'], ['down', 'down.sh']] as const) {
  infra
    .command(verb)
    .option('--wipe', 'with down: also delete the services\' data')
    .action((opts: { wipe?: boolean }) => {
      const result = spawnSync('bash', [join(root, 'infra', script), ...(opts.wipe ? ['--wipe'] : [])], { stdio: 'inherit' });
      process.exitCode = result.status ?? 1;
    });
}

program
  .command('config')
  .description('print the effective configuration (secrets redacted), or fail with every problem found')
  .option('-c, --config <file>', 'JSON configuration file')
  .action(async (opts: { config?: string }) => {
    const { printConfig } = await import('./commands/config.ts');
    printConfig(opts.config);
  });

registerIdentityCommands(program);
registerRoutingCommands(program);

program
  .command('processor')
  .description('work on processors')
  .command('new <name>')
  .description('scaffold processors/<name>/ with a processor and its test (see docs/processors.md)')
  .action(async (name: string) => {
    const { scaffoldProcessor } = await import('../processors/scaffold.ts');
    const result = await scaffoldProcessor(name, root);
    for (const file of result.files) console.log(`created ${file}`);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof TributaryError) {
    console.error(`tributary: ${err.code}: ${err.message}`);
  } else {
    console.error('tributary: unexpected error:', err);
  }
  process.exitCode = 1;
}
