/**
 * `npm run bench -- processors` / `tributary bench processors`: enrich and router on the real broker, each run alone
 * (one process, one consumer group) over the same M records, with a pass-through processor — same runtime, same
 * batches, forwards each record unchanged — measured in the same run as the baseline (DESIGN.md §10: figures and
 * ratios, never timed assertions). Devices live in a fresh PostgreSQL schema (DeviceRegistry) so enrich finds them;
 * the router has 10 routes mixing body, application-property, system-property and twin conditions.
 *
 * Besides records/s, each phase reports this process's CPU time per record (process.cpuUsage over the phase): on a
 * shared 2-core machine wall time swings with the neighbours, CPU per record much less, and it is what decides how many
 * messages per second fit on the machine.
 *
 * Each phase runs until its group has committed the whole input (its time includes joining the group, about the same
 * for all three); its lag (end offsets − committed offsets) is then
 * read back to show nothing was left behind. enrich writes to a topic of the bench's own (`outputTopic`) so it never
 * floods the shared `iot.device.messages.enriched`. The router runs with each evaluator of `--evaluators` (default
 * compiled; `compiled,json-rules-engine` adds the Engine-based evaluator as a second router phase over the same input).
 *
 * Options: --records N (100000) --devices D (200) --partitions P (6) --batch B (500) --evaluators list (compiled)
 *          --brokers host:port,… (TRIBUTARY_KAFKA_BROKERS or 127.0.0.1:9092)
 *          --broker-pid PID (adds the broker process's CPU per record, read from /proc; shared brokers make it noisy)
 *          --marks (prints each phase's monotonic µs bounds to stderr, to cut a --cpu-prof profile into phases)
 *          --database URL (TRIBUTARY_DATABASE_URL or postgres://postgres@127.0.0.1:5432/tributary)
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Type } from '@sinclair/typebox';
import { KafkaLog } from '../core/log/kafka/kafka-log.ts';
import { TOPICS } from '../core/log/topics.ts';
import { DeviceRegistry } from '../core/registry/index.ts';
import { AvroSerde, InProcessSchemaRegistry, SchemaCatalog, registerAllSchemas, type DeviceMessage } from '../core/serde/index.ts';
import { PgStore, migrate } from '../core/store/index.ts';
import { enrichProcessor } from './enrich/enrich.ts';
import { createRouter } from './router/router.ts';
import { RouteStore } from './router/routes.ts';
import { defineProcessor, type ProcessorDefinition } from './runtime/define-processor.ts';
import { runProcessor } from './runtime/run-processor.ts';
import { formatTable } from '../load-tests/table.ts';

interface Figure {
  label: string;
  records: number;
  seconds: number;
  lag: number;
  outputs: number;
  /** CPU time (user + system) of this process during the phase, in microseconds: the cost that wall time hides. */
  cpuMicros: number;
  /** CPU time of the broker process during the phase (only with --broker-pid; other clients of the broker add to it). */
  brokerCpuMicros?: number;
}

/** user + system CPU of a process in microseconds, from /proc (Linux); undefined when it cannot be read. */
async function processCpuMicros(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND) * 1e6;
  } catch {
    return undefined;
  }
}
/** USER_HZ, 100 on every Linux the project runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

function progress(label: string, done: () => number, total: number) {
  const start = Date.now();
  const tty = process.stderr.isTTY;
  const timer = setInterval(() => {
    const line = `  ${label}: ${done().toLocaleString()} / ${total.toLocaleString()} committed (${((Date.now() - start) / 1000).toFixed(1)} s)`;
    process.stderr.write(tty ? `\r${line}` : `${line}\n`);
  }, tty ? 250 : 2000);
  return () => {
    clearInterval(timer);
    if (tty) process.stderr.write('\r\x1b[K');
  };
}

const sum = (offsets: readonly { offset: number }[]) => offsets.reduce((s, o) => s + Number(o.offset), 0);

/** Forwards each record unchanged to `output`: the runtime's own cost, the floor under every processor. */
function passThrough(input: string, output: string) {
  return defineProcessor({
    name: 'pass-through',
    description: 'Benchmark baseline: forwards each record unchanged.',
    configSchema: Type.Object({}),
    inputTopics: () => [input],
    create: () => ({
      process: (record) => [{ topic: output, key: record.key, value: record.value, headers: record.headers }],
    }),
  });
}

/** Runs one processor in its own group until it committed the whole input; time runs from start to the last commit. */
async function phase(log: KafkaLog, label: string, definition: ProcessorDefinition, options: { input: string; config: unknown; batch: number; outputs: string[]; serde: AvroSerde; brokerPid?: number; marks?: boolean }): Promise<Figure> {
  const groupId = `bench-${definition.name}-${randomBytes(3).toString('hex')}`;
  const total = sum(await log.endOffsets(options.input));
  let committed = 0;
  const stopProgress = progress(label, () => committed, total);
  const broker0 = options.brokerPid === undefined ? undefined : await processCpuMicros(options.brokerPid);
  // Monotonic microseconds, the clock of V8's CPU profiles: lets a --cpu-prof profile be cut into phases.
  const mark0 = process.hrtime.bigint() / 1000n;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const running = await runProcessor(definition, { log, serde: options.serde, config: options.config, groupId, maxBatchRecords: options.batch });
  try {
    while (committed < total) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      committed = sum(await log.committedOffsets(groupId, options.input));
    }
  } finally {
    stopProgress();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const broker1 = options.brokerPid === undefined ? undefined : await processCpuMicros(options.brokerPid);
  if (options.marks) console.error(`phase-mark ${JSON.stringify({ label, startMicros: Number(mark0), endMicros: Number(process.hrtime.bigint() / 1000n) })}`);
  await running.stop();
  const lag = sum(await log.endOffsets(options.input)) - sum(await log.committedOffsets(groupId, options.input));
  let outputs = 0;
  for (const topic of options.outputs) outputs += sum(await log.endOffsets(topic).catch(() => []));
  return {
    label, records: total, seconds, lag, outputs, cpuMicros: cpu.user + cpu.system,
    ...(broker0 !== undefined && broker1 !== undefined ? { brokerCpuMicros: broker1 - broker0 } : {}),
  };
}

function printTable(figures: Figure[]): void {
  const broker = figures.some((f) => f.brokerCpuMicros !== undefined);
  const rows = figures.map((f) => [
    f.label, f.records.toLocaleString(), f.seconds.toFixed(2), Math.round(f.records / f.seconds).toLocaleString(),
    (f.cpuMicros / f.records).toFixed(1), ...(broker ? [f.brokerCpuMicros === undefined ? '-' : (f.brokerCpuMicros / f.records).toFixed(1)] : []),
    f.lag.toLocaleString(), f.outputs.toLocaleString(),
  ]);
  const header = ['phase (one process each)', 'records', 'seconds', 'records/s', 'CPU µs/record', ...(broker ? ['broker CPU µs/record'] : []), 'lag at end', 'records out'];
  console.log(formatTable(header, rows, [0]));
}

export async function run(argv: string[]): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      records: { type: 'string', default: '100000' },
      devices: { type: 'string', default: '200' },
      partitions: { type: 'string', default: '6' },
      batch: { type: 'string', default: '500' },
      evaluators: { type: 'string', default: 'compiled' },
      'broker-pid': { type: 'string' },
      marks: { type: 'boolean', default: false },
      brokers: { type: 'string', default: process.env.TRIBUTARY_KAFKA_BROKERS ?? '127.0.0.1:9092' },
      database: { type: 'string', default: process.env.TRIBUTARY_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tributary' },
    },
    allowPositionals: true,
  });
  const records = Number(args.records);
  const devices = Number(args.devices);
  const partitions = Number(args.partitions);
  const batch = Number(args.batch);
  console.log(`processors benchmark: ${records.toLocaleString()} device messages from ${devices} devices, ${partitions} partitions, batches of ${batch}, Kafka at ${args.brokers}`);

  const id = randomBytes(4).toString('hex');
  const schema = `tributary_bench_${id}`;
  const topics = { input: `bench.${id}.messages`, passed: `bench.${id}.passed`, enriched: `bench.${id}.enriched` };
  const endpoints = ['hot', 'alerts', 'b43', 'firmware', 'archive'].map((e) => `${e}-${id}`);
  const endpointTopics = [...endpoints, 'other-' + id].map((e) => `iot.route.${e}`);

  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-'));
  const registry = await InProcessSchemaRegistry.open({ dataDir });
  const catalog = SchemaCatalog.load();
  await registerAllSchemas(registry, catalog);
  const serde = new AvroSerde(registry, catalog);
  const log = await KafkaLog.connect({ brokers: args.brokers.split(','), clientId: 'bench-processors' });
  const admin = new PgStore({ url: args.database, maxConnections: 1 });
  // The name is hex from randomBytes, never input: identifiers cannot be parameters.
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const store = new PgStore({ url: args.database, schema });
  const figures: Figure[] = [];
  try {
    await migrate(store);
    const registryApi = new DeviceRegistry({ store, hubName: 'bench-hub' });
    for (let d = 0; d < devices; d++) await registryApi.putDevice(`device-${d}`, { deviceId: `device-${d}` });
    // Twin tags straight in the table: the bench needs data for `$twin.*` conditions, not the twin API's cost.
    await store.query(`UPDATE twins SET tags = jsonb_build_object('building', (substring(device_id from 8)::int % 50)::text, 'floor', substring(device_id from 8)::int % 7) WHERE module_id = ''`);

    const routes = new RouteStore(store);
    for (const name of endpoints) await routes.putEndpoint({ name, type: 'kafka' });
    await routes.putEndpoint({ name: `other-${id}`, type: 'kafka' });
    const [hot, alerts, b43, firmware, archive] = endpoints as [string, string, string, string, string];
    const routeList = [
      { name: 'r01-hot', condition: '$body.temperature > 30', endpointNames: [hot] },
      { name: 'r02-critical', condition: "level = 'critical'", endpointNames: [alerts] },
      { name: 'r03-b43', condition: "$twin.tags.building = '43'", endpointNames: [b43] },
      { name: 'r04-hot-b43', condition: "$body.temperature > 30 AND $twin.tags.building = '43'", endpointNames: [alerts, b43] },
      { name: 'r05-fw', condition: "IS_DEFINED(firmware) AND firmware <> '1.0.0'", endpointNames: [firmware] },
      { name: 'r06-cold', condition: '$body.temperature < 12 OR $body.humidity > 95', endpointNames: [alerts] },
      { name: 'r07-device', condition: "$connectionDeviceId = 'device-7'", endpointNames: [archive] },
      { name: 'r08-floor', condition: '$twin.tags.floor = 3 AND NOT ($body.humidity < 50)', endpointNames: [archive] },
      { name: 'r09-nested', condition: "($body.temperature > 25 OR level = 'warn') AND $twin.tags.building <> '0'", endpointNames: [hot] },
      { name: 'r10-off', condition: 'true', endpointNames: [archive], isEnabled: false },
    ];
    for (const r of routeList) await routes.putRoute({ source: 'DeviceMessages', ...r });
    await routes.putFallback({ endpointNames: [`other-${id}`] });

    await log.createTopics([topics.input, topics.passed, topics.enriched].map((name) => ({ name, partitions })));
    // One at a time: on a busy shared broker, waiting for the leaders of 36 new partitions at once can outlast
    // kafkajs's metadata retries (UNKNOWN_TOPIC_OR_PARTITION).
    for (const name of endpointTopics) await log.createTopics([{ name, partitions }]);

    // Input: telemetry-like JSON messages, encoded once and produced in chunks.
    const levels = ['info', 'warn', 'critical'];
    let produced = 0;
    const stopProgress = progress('producing input', () => produced, records);
    for (let start = 0; start < records; start += 5000) {
      const chunk = await Promise.all(Array.from({ length: Math.min(5000, records - start) }, async (_, k) => {
        const i = start + k;
        const deviceId = `device-${i % devices}`;
        const message: DeviceMessage = {
          messageId: `m-${i}`, contentType: 'application/json', contentEncoding: 'utf-8', enqueuedTime: Date.now(),
          connectionDeviceId: deviceId, ingestNode: 'bench', protocol: 'Mqtt',
          properties: { level: levels[i % 3]!, ...(i % 5 === 0 ? { firmware: i % 10 === 0 ? '1.0.0' : '1.1.0' } : {}) },
          body: Buffer.from(JSON.stringify({ temperature: 10 + (i % 25), humidity: (i * 7) % 100, seq: i })),
        };
        return { key: deviceId, value: await serde.encode(TOPICS.deviceMessages, message) };
      }));
      await log.produce(topics.input, chunk);
      produced += chunk.length;
    }
    stopProgress();

    const measure = { ...(args['broker-pid'] ? { brokerPid: Number(args['broker-pid']) } : {}), marks: args.marks };
    figures.push(await phase(log, 'pass-through (baseline)', passThrough(topics.input, topics.passed), { input: topics.input, config: {}, batch, outputs: [topics.passed], serde, ...measure }));
    figures.push(await phase(log, 'enrich', enrichProcessor({ store }), {
      input: topics.input, batch, outputs: [topics.enriched], serde, ...measure,
      config: { hubName: 'bench-hub', inputTopic: topics.input, outputTopic: topics.enriched, enrichments: [{ name: 'building', value: '$twin.tags.building', endpointNames: [hot] }] },
    }));
    for (const evaluator of args.evaluators.split(',')) {
      // Each phase after the first adds to the endpoint topics, so `records out` of a later phase counts all phases.
      figures.push(await phase(log, `router (10 routes, ${evaluator})`, createRouter({ routes }), {
        input: topics.enriched, batch, outputs: endpointTopics, serde, ...measure,
        config: { sources: ['DeviceMessages'], topics: { DeviceMessages: topics.enriched }, reloadIntervalMs: 5000, evaluator },
      }));
    }
    const perEndpoint = await Promise.all(endpointTopics.map(async (t) => `${t.replace(`iot.route.`, '').replace(`-${id}`, '')} ${sum(await log.endOffsets(t)).toLocaleString()}`));
    console.log(`router deliveries per endpoint: ${perEndpoint.join(', ')}`);
  } finally {
    await log.deleteTopics([...Object.values(topics), ...endpointTopics]).catch(() => undefined);
    await log.close();
    await store.close();
    await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.close();
    await registry.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  console.log();
  printTable(figures);
  const base = figures[0]!;
  console.log();
  for (const f of figures.slice(1)) {
    console.log(`${f.label} / pass-through: ${((f.records / f.seconds) / (base.records / base.seconds)).toFixed(2)}x records/s, ${(f.cpuMicros / base.cpuMicros).toFixed(2)}x CPU per record`);
  }
  console.log(`peak RSS of the whole run: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}
