/**
 * `tributary bench <scenario> [options]`: the built-in scenario, overridden field by field from the command line,
 * validated as one simulator scenario before anything starts.
 */
import { parseArgs } from 'node:util';
import { TributaryError } from '../../core/errors/index.ts';
import { sourceAddresses } from '../connections.bench.ts';
import { SCENARIOS, type BenchScenario } from '../scenarios/index.ts';
import { validateScenario, type Scenario, type ScenarioInput } from '../simulator/scenario.ts';
import { resolveSplit, type SplitChoice } from './split.ts';

export const USAGE = `usage: tributary bench <scenario> [options]      scenarios: ${Object.keys(SCENARIOS).join(', ')}
  load:    --devices N --messages N | --duration S --rate MSG_PER_S --ramp S --payload BYTES --qos 0|1
           --protocol mqtt|mqtt-ws --x509 SHARE (0..1 of the devices use X.509) --in-flight W --workers T
           --connect-rate R --hold S (idle scenarios) --sources K (loopback source addresses)
  around:  --out DIR (.tributary/load-tests) --baseline FILE (compare with an earlier result)
           --no-mosquitto (skip the Mosquitto run of throughput) --mosquitto host:port (127.0.0.1:1883)
           --clickhouse URL (TRIBUTARY_CLICKHOUSE_URL) --clickhouse-database NAME (iot)
  hub:     --split (one hub process per role group: ingest+service, processors, connectors; needs Kafka and
           PostgreSQL; the default of steady-10k and soak there) --no-split (one process with every role)
Platform: an embedded hub (embedded log, PGlite) unless TRIBUTARY_KAFKA_BROKERS, TRIBUTARY_DATABASE_URL … are set.
Ctrl-C stops the run and writes a partial report; a second Ctrl-C exits at once. This text: --usage.`;

export interface BenchOptions {
  bench: BenchScenario;
  load: Scenario;
  outDir: string;
  baselineFile: string | undefined;
  /** host:port of Mosquitto, or undefined when the scenario has no baseline run (or --no-mosquitto). */
  mosquitto: string | undefined;
  clickhouseUrl: string | undefined;
  clickhouseDatabase: string;
  holdSeconds: number;
  /** One hub process per role group (split.ts), and why. */
  split: SplitChoice;
}

export function parseBenchOptions(name: string, argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const bench = SCENARIOS[name];
  if (!bench) throw new TributaryError('ArgumentInvalid', `unknown scenario "${name}"; built in: ${Object.keys(SCENARIOS).join(', ')}`);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        devices: { type: 'string' }, messages: { type: 'string' }, duration: { type: 'string' }, rate: { type: 'string' },
        ramp: { type: 'string' }, payload: { type: 'string' }, qos: { type: 'string' }, protocol: { type: 'string' },
        x509: { type: 'string' }, 'in-flight': { type: 'string' }, workers: { type: 'string' }, 'connect-rate': { type: 'string' },
        hold: { type: 'string' }, sources: { type: 'string' }, out: { type: 'string' }, baseline: { type: 'string' },
        'no-mosquitto': { type: 'boolean', default: false }, mosquitto: { type: 'string', default: '127.0.0.1:1883' },
        clickhouse: { type: 'string' }, 'clickhouse-database': { type: 'string' },
        split: { type: 'boolean' }, 'no-split': { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new TributaryError('ArgumentInvalid', `${(err as Error).message}\n${USAGE}`);
  }
  const v = parsed.values;
  const num = (k: keyof typeof v): number | undefined => {
    const raw = v[k];
    if (typeof raw !== 'string') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new TributaryError('ArgumentInvalid', `--${k}: expected a number, got "${raw}"`);
    return n;
  };
  const load: ScenarioInput = { ...bench.load };
  const set = <K extends keyof ScenarioInput>(key: K, value: ScenarioInput[K] | undefined) => {
    if (value !== undefined) load[key] = value;
  };
  set('devices', num('devices'));
  set('payloadBytes', num('payload'));
  set('qos', num('qos') as 0 | 1 | undefined);
  set('inFlight', num('in-flight'));
  set('workers', num('workers'));
  set('connectRate', num('connect-rate'));
  set('messageRate', num('rate'));
  set('rampSeconds', num('ramp'));
  set('protocol', v.protocol as Scenario['protocol'] | undefined);
  // A count and a duration bound a run in two ways; the one given on the command line replaces the scenario's.
  if (num('messages') !== undefined) {
    delete load.durationSeconds;
    load.messages = num('messages');
  }
  if (num('duration') !== undefined) {
    delete load.messages;
    load.durationSeconds = num('duration');
  }
  const x509 = num('x509');
  if (x509 !== undefined) {
    if (x509 < 0 || x509 > 1) throw new TributaryError('ArgumentInvalid', `--x509 ${x509}: give the share of X.509 devices, 0 to 1`);
    load.authMix = { sas: 1 - x509, x509 };
  }
  if (load.mode === 'idle' && (load.devices ?? 0) > 0) {
    load.localAddresses = sourceAddresses(load.devices!, num('sources'));
  }
  const validated = validateScenario({ deviceIdPrefix: 'bench', ...load, name: bench.name });
  if (v.split && v['no-split']) throw new TributaryError('ArgumentInvalid', '--split and --no-split contradict each other: give one');
  const split = resolveSplit({ flag: v.split ? true : v['no-split'] ? false : undefined, scenarioDefault: bench.split === true, env });
  const mosquitto = bench.mosquittoBaseline && !v['no-mosquitto'] ? v.mosquitto : undefined;
  return {
    bench,
    load: validated,
    outDir: v.out ?? '.tributary/load-tests',
    baselineFile: v.baseline,
    mosquitto,
    clickhouseUrl: v.clickhouse ?? env.TRIBUTARY_CLICKHOUSE_URL,
    clickhouseDatabase: v['clickhouse-database'] ?? env.TRIBUTARY_CLICKHOUSE_DATABASE ?? 'iot',
    holdSeconds: num('hold') ?? bench.holdSeconds ?? 10,
    split,
  };
}
