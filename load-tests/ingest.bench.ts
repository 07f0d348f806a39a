/**
 * `npm run bench -- ingest` / `tributary bench ingest`: QoS 1 telemetry "as fast as acks allow" from N simulated
 * devices, against the pre-started Mosquitto (plain MQTT on 127.0.0.1:1883, the baseline) and against a Tributary
 * ingest node on real Kafka (IoT Hub dialect: TLS, SAS, CleanSession 0, property bag), with the same generator, in
 * the same run; prints msgs/s, PUBACK latency and the ratio Tributary/Mosquitto (target ≥ 0.5×, issue 5 item 7).
 *
 * Options: --devices N (100) --in-flight W per device (10) --duration S (20) | --messages N
 *          --payload BYTES (100) --qos 0|1 (1) --workers T (2) --connect-rate R per s (500)
 *          --targets mosquitto,tributary  --mosquitto host:port (127.0.0.1:1883)
 *          --tributary-url mqtts://host:port --tributary-ca FILE --tributary-hub-name NAME --tributary-device-key KEY
 *              (a hub started by hand whose registry already holds the devices sim-000000…; otherwise one is started
 *               as a child process on TRIBUTARY_KAFKA_BROKERS, default 127.0.0.1:9092)
 *          --json FILE  (write the results as JSON)
 * Ctrl-C stops the run cleanly and prints the partial figures; a second Ctrl-C exits at once.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TributaryError } from '../core/errors/index.ts';
import { cpuSeconds, pidOf } from './simulator/proc.ts';
import { progressPrinter, resultLines } from './simulator/progress.ts';
import { runScenario, type RunResult } from './simulator/runner.ts';
import { validateScenario, type Scenario } from './simulator/scenario.ts';
import { describeTarget, type IotHubTarget, type Target } from './simulator/target.ts';
import { startTributaryHub, type HubHandle } from './tributary/hub.ts';

interface Figures {
  result: RunResult;
  /** Server CPU over the run, in cores (1.0 = one core busy), when its pid is known. */
  serverCores?: number;
}

export function scenarioFromArgs(values: Record<string, string | boolean | undefined>): Scenario {
  const num = (k: string) => (typeof values[k] === 'string' ? Number(values[k]) : undefined);
  const messages = num('messages');
  return validateScenario({
    name: 'ingest',
    // A prefix of its own per run: the registry may be a shared PostgreSQL that still holds an earlier run's devices,
    // and hubs on one Kafka close each other's connections of the same device id.
    deviceIdPrefix: `ingest-${Date.now().toString(36)}`,
    devices: num('devices') ?? 100,
    inFlight: num('in-flight') ?? 10,
    ...(messages !== undefined ? { messages } : { durationSeconds: num('duration') ?? 20 }),
    payloadBytes: num('payload') ?? 100,
    qos: (num('qos') ?? 1) as 0 | 1,
    workers: num('workers') ?? 2,
    connectRate: num('connect-rate') ?? 500,
    keepaliveSeconds: 60,
  });
}

function hostPort(s: string): { host: string; port: number } {
  const m = /^([^:]+):(\d+)$/.exec(s);
  if (!m) throw new TributaryError('ArgumentInvalid', `expected host:port, got "${s}"`);
  return { host: m[1]!, port: Number(m[2]) };
}

async function measure(scenario: Scenario, target: Target, pid: number | undefined, signal: AbortSignal): Promise<Figures> {
  console.log(`\n▶ ${describeTarget(target)}`);
  const progress = progressPrinter();
  const cpu0 = pid ? cpuSeconds(pid) : 0;
  const t0 = performance.now();
  try {
    const result = await runScenario(scenario, target, { signal, onProgress: progress.onProgress });
    progress.clear();
    const cores = pid ? (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000) : undefined;
    for (const line of resultLines(result)) console.log(line);
    if (cores !== undefined) console.log(`  server CPU   ${cores.toFixed(2)} cores on average over the whole run (pid ${pid})`);
    return { result, ...(cores !== undefined ? { serverCores: cores } : {}) };
  } finally {
    progress.clear();
  }
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      devices: { type: 'string' }, 'in-flight': { type: 'string' }, duration: { type: 'string' }, messages: { type: 'string' },
      payload: { type: 'string' }, qos: { type: 'string' }, workers: { type: 'string' }, 'connect-rate': { type: 'string' },
      targets: { type: 'string', default: 'mosquitto,tributary' }, mosquitto: { type: 'string', default: '127.0.0.1:1883' },
      'tributary-url': { type: 'string' }, 'tributary-ca': { type: 'string' }, 'tributary-hub-name': { type: 'string' },
      'tributary-device-key': { type: 'string' }, json: { type: 'string' },
    },
  });
  const scenario = scenarioFromArgs(values);
  const targets = String(values.targets).split(',').map((t) => t.trim());
  console.log(`ingest bench: ${scenario.devices} devices × in-flight ${scenario.inFlight}, QoS ${scenario.qos}, ${scenario.payloadBytes}-byte JSON, ` +
    `${scenario.durationSeconds !== undefined ? `${scenario.durationSeconds} s` : `${scenario.messages} messages`}, ${scenario.workers} worker threads`);

  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\nstopping (Ctrl-C again to exit at once) …\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  const figures: Record<string, Figures> = {};
  try {
    if (targets.includes('mosquitto') && !abort.signal.aborted) {
      const { host, port } = hostPort(String(values.mosquitto));
      figures.mosquitto = await measure(scenario, { kind: 'mqtt', name: 'mosquitto', host, port }, pidOf('mosquitto'), abort.signal);
    }
    if (targets.includes('tributary') && !abort.signal.aborted) {
      const tributary = await tributaryTarget(values, scenario);
      try {
        figures.tributary = await measure(scenario, tributary.target, tributary.pid, abort.signal);
      } finally {
        await tributary.close();
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
  }

  const m = figures.mosquitto?.result;
  const t = figures.tributary?.result;
  console.log('\nsummary');
  for (const r of [m, t]) {
    if (r) console.log(`  ${r.target.padEnd(10)} ${Math.round(r.rate).toLocaleString('en-US').padStart(9)} msg/s   PUBACK p50 ${r.latency.p50.toFixed(2)} ms  p99 ${r.latency.p99.toFixed(2)} ms  max ${r.latency.max.toFixed(2)} ms${r.interrupted ? '  (partial)' : ''}`);
  }
  if (m && t && m.rate > 0) {
    const ratio = t.rate / m.rate;
    console.log(`  ratio tributary/mosquitto ${ratio.toFixed(2)}× (target ≥ 0.50×: ${ratio >= 0.5 ? 'met' : 'NOT met'})`);
  }
  if (values.json) writeFileSync(values.json, JSON.stringify({ scenario, figures }, null, 2));
}

/** The hub to measure: one given on the command line, else a child process. */
async function tributaryTarget(values: Record<string, string | boolean | undefined>, scenario: Scenario): Promise<{ target: IotHubTarget; pid: number | undefined; close(): Promise<void> }> {
  const url = values['tributary-url'];
  if (typeof url === 'string') {
    const u = new URL(url);
    const ca = values['tributary-ca'];
    const key = values['tributary-device-key'];
    if (typeof ca !== 'string' || typeof key !== 'string') {
      throw new TributaryError('ArgumentNull', '--tributary-url needs --tributary-ca FILE and --tributary-device-key KEY (the key every bench device was provisioned with)');
    }
    const hubName = typeof values['tributary-hub-name'] === 'string' ? values['tributary-hub-name'] : u.hostname;
    const target: IotHubTarget = { kind: 'iothub', name: 'tributary', host: u.hostname, port: Number(u.port || 8883), hubName, caPem: readFileSync(ca, 'utf8'), deviceKey: key };
    return { target, pid: undefined, close: async () => {} };
  }
  console.log('\nstarting a Tributary ingest node (child process, real Kafka) and provisioning the bench devices …');
  const hub: HubHandle = await startTributaryHub({ devices: { prefix: scenario.deviceIdPrefix, count: scenario.devices } });
  return { target: hub.target, pid: hub.pid, close: () => hub.close() };
}
