/**
 * `npm run bench -- ingest-cost`: what one MQTT ingest node *costs*, in figures that hold on a busy machine where
 * wall-clock throughput does not (issue 5 item 7 — CPU is what limits msgs/s once the log batches):
 *   - CPU time of the hub process (process.cpuUsage: user + system, every thread) per QoS 1 telemetry message, end to
 *     end over TLS with SAS into the log (real Kafka or EmbeddedLog), PUBACKed only after the log acknowledged;
 *   - memory per idle TLS connection: heap and RSS growth over N connections, read after full GCs (--expose-gc).
 * The hub runs in this process; the devices run in a child process (testing/load-client.ts), so their CPU and memory
 * are not counted. Both logs are measured in the same run; the ratio Kafka/Embedded shows what the Kafka client adds.
 *
 * Options: --logs kafka,embedded  --messages N (10000, per round)  --rounds R (3, after one warm-up round)
 *          --devices D (20)  --in-flight W (10)  --payload BYTES (100)  --idle N (1000 idle connections; 0 skips)
 *          --profile DIR (writes a .cpuprofile of the measured rounds per log and prints the top self-time frames)
 *          --brokers host:port (TRIBUTARY_KAFKA_BROKERS or 127.0.0.1:9092)
 * Run with `node --expose-gc --import tsx ingest/cost.bench.ts` (the CLI does): without gc() the memory figure is noise.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { EmbeddedLog } from '../core/log/embedded/index.ts';
import type { Log } from '../core/log/types.ts';
import { DeviceRegistry } from '../core/registry/index.ts';
import { AvroSerde, InProcessSchemaRegistry, SchemaCatalog, registerAllSchemas } from '../core/serde/index.ts';
import { openStore } from '../core/store/index.ts';
import { createCertificateAuthority, issueCertificate } from '../core/tls/index.ts';
import { startIngest } from './index.ts';
import type { GatewayTopics } from './gateway/types.ts';
import type { LoadClientConnect } from './testing/load-client.ts';

interface Options {
  messages: number;
  rounds: number;
  devices: number;
  inFlight: number;
  payload: number;
  idle: number;
  profileDir: string | undefined;
  brokers: string[];
}

export interface CostFigures {
  log: string;
  /** Hub CPU µs per message, per measured round. */
  cpuUsPerMessage: number[];
  /** Hub heap/RSS growth per idle TLS connection, KiB. */
  idle?: { connections: number; heapKiB: number; rssKiB: number; externalKiB: number };
}

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc;
  g?.();
  g?.();
};

type ChildMessage = { event: 'connected'; open: number } | { event: 'published'; acked: number; ms: number };

function startClient(): { send(m: unknown): void; next(): Promise<ChildMessage>; close(): Promise<void> } {
  const child = fork(new URL('./testing/load-client.ts', import.meta.url), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting: Array<(m: ChildMessage) => void> = [];
  child.on('message', (m: ChildMessage) => waiting.shift()?.(m));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    send: (m) => child.send(m as never),
    next: () => new Promise((resolve) => waiting.push(resolve)),
    async close() {
      if (child.connected) child.send({ cmd: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function openLog(kind: string, dataDir: string, brokers: string[], topics: GatewayTopics): Promise<Log> {
  let log: Log;
  if (kind === 'kafka') {
    const { KafkaLog } = await import('../core/log/kafka/index.ts');
    log = await KafkaLog.connect({ brokers, clientId: 'tributary-cost-bench' });
  } else {
    log = await EmbeddedLog.open({ dataDir: join(dataDir, 'log') });
  }
  await log.createTopics(Object.values(topics).map((name) => ({ name, partitions: 4 })));
  return log;
}

async function topFrames(profile: { nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }> }, n: number): Promise<string[]> {
  const self = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const f = node.callFrame;
    const where = f.url ? `${f.url.replace(/^file:\/\/.*?\/(node_modules|work\/main)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`;
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}

async function measureLog(kind: string, o: Options): Promise<CostFigures> {
  const run = randomBytes(4).toString('hex');
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-cost-'));
  const topics: GatewayTopics = {
    deviceMessages: `bench-cost-${run}.messages`, deviceConnections: `bench-cost-${run}.connections`, deviceLifecycle: `bench-cost-${run}.lifecycle`,
    cloudCommands: `bench-cost-${run}.commands`, twinUpdates: `bench-cost-${run}.twin`, deviceReplies: `bench-cost-${run}.replies`,
  };
  const log = await openLog(kind, dataDir, o.brokers, topics);
  const store = await openStore({ dataDir });
  const schemas = await InProcessSchemaRegistry.open({ dataDir });
  const catalog = SchemaCatalog.load();
  await registerAllSchemas(schemas, catalog);
  const serde = new AvroSerde(schemas, catalog);
  const registry = new DeviceRegistry({ store, hubName: 'localhost' });
  await registry.ensureDefaultPolicies();
  const key = randomBytes(32).toString('base64');
  const ids = Array.from({ length: o.devices + o.idle }, (_, i) => `cost-${run}-${String(i).padStart(6, '0')}`);
  for (let i = 0; i < ids.length; i += 100) {
    await registry.bulk(ids.slice(i, i + 100).map((id) => ({ id, importMode: 'create', status: 'enabled', authentication: { type: 'sas', symmetricKey: { primaryKey: key, secondaryKey: key } } })));
  }
  const ca = await createCertificateAuthority({ commonName: 'cost bench CA', validityDays: 1 });
  const tls = await issueCertificate({ issuer: ca, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  const ingest = await startIngest({
    config: { hostNames: ['localhost', '127.0.0.1'], ports: { https: 443, mqtts: 0 } },
    platform: { log, store, serde }, registry, tls, mqttPort: 0, mqttHost: '127.0.0.1', topics,
  });
  const figures: CostFigures = { log: kind, cpuUsPerMessage: [] };
  const base: Omit<LoadClientConnect, 'deviceIds'> = { cmd: 'connect', port: ingest.mqttPort, host: '127.0.0.1', caPem: ca.certPem, key, inFlight: o.inFlight, payloadBytes: o.payload, connectConcurrency: 20 };
  try {
    // Idle connections first, while the heap holds nothing of a publishing run: RSS only grows back slowly.
    if (o.idle > 0) figures.idle = await measureIdle(base, ids.slice(o.devices), ingest.connectionCount);
    const publisher = startClient();
    try {
      publisher.send({ ...base, deviceIds: ids.slice(0, o.devices) });
      const c = await publisher.next();
      if (c.event !== 'connected' || c.open < o.devices) throw new Error(`only ${c.event === 'connected' ? c.open : 0} of ${o.devices} devices connected`);
      const round = async () => {
        publisher.send({ cmd: 'publish', messages: o.messages });
        return publisher.next();
      };
      await round(); // warm-up: JIT, schema lookups, Kafka metadata
      for (let r = 0; r < o.rounds; r++) {
        const cpu0 = process.cpuUsage();
        const done = await round();
        const cpu = process.cpuUsage(cpu0);
        const us = (cpu.user + cpu.system) / o.messages;
        figures.cpuUsPerMessage.push(us);
        const ms = done.event === 'published' ? done.ms : 0;
        console.log(`  ${kind.padEnd(8)} round ${r + 1}: ${o.messages} msgs, hub CPU ${us.toFixed(1)} µs/msg (user ${(cpu.user / o.messages).toFixed(1)}, sys ${(cpu.system / o.messages).toFixed(1)}), wall ${(ms / 1000).toFixed(1)} s`);
      }
      if (o.profileDir) {
        // A separate round: the sampler's own overhead stays out of the figures above.
        const session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 200 });
        await session.post('Profiler.start');
        await round();
        const { profile } = await session.post('Profiler.stop');
        session.disconnect();
        await mkdir(o.profileDir, { recursive: true });
        const file = join(o.profileDir, `ingest-${kind}.cpuprofile`);
        await writeFile(file, JSON.stringify(profile));
        console.log(`  profile ${file}; top self time:`);
        for (const line of await topFrames(profile as never, 30)) console.log(`    ${line}`);
      }
    } finally {
      await publisher.close();
    }
  } finally {
    await ingest.close();
    if (kind === 'kafka') await log.deleteTopics(Object.values(topics)).catch(() => undefined);
    await log.close();
    await store.close();
    await schemas.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  return figures;
}

async function measureIdle(base: Omit<LoadClientConnect, 'deviceIds'>, ids: string[], count: () => number): Promise<NonNullable<CostFigures['idle']>> {
  // Warm-up: a first batch of connections compiles the connect path and fills lazily created caches (TLS context,
  // prepared statements); that one-off heap is not per connection. Those devices are not reused below.
  const warmIds = ids.splice(0, Math.min(100, Math.floor(ids.length / 10)));
  const warm = startClient();
  warm.send({ ...base, deviceIds: warmIds });
  await warm.next();
  await warm.close();
  await new Promise((r) => setTimeout(r, 1000));
  gc();
  const before = process.memoryUsage();
  const before0 = count();
  if (process.env.TRIBUTARY_COST_HEAP_SNAPSHOT) writeHeapSnapshot(`${process.env.TRIBUTARY_COST_HEAP_SNAPSHOT}.before`);
  const idle = startClient();
  try {
    idle.send({ ...base, deviceIds: ids });
    const c = await idle.next();
    await new Promise((r) => setTimeout(r, 3000));
    gc();
    const after = process.memoryUsage();
    const open = count() - before0;
    if (process.env.TRIBUTARY_COST_HEAP_SNAPSHOT) writeHeapSnapshot(process.env.TRIBUTARY_COST_HEAP_SNAPSHOT);
    const per = (a: number, b: number) => (a - b) / 1024 / Math.max(1, open);
    const result = { connections: open, heapKiB: per(after.heapUsed, before.heapUsed), rssKiB: per(after.rss, before.rss), externalKiB: per(after.external + after.arrayBuffers, before.external + before.arrayBuffers) };
    console.log(`  idle TLS connections: ${open} open on the hub (client says ${c.event === 'connected' ? c.open : '?'}): ` +
      `heap ${result.heapKiB.toFixed(2)} KiB, external ${result.externalKiB.toFixed(2)} KiB, RSS ${result.rssKiB.toFixed(2)} KiB per connection`);
    return result;
  } finally {
    await idle.close();
  }
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      logs: { type: 'string', default: 'kafka,embedded' }, messages: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '3' },
      devices: { type: 'string', default: '20' }, 'in-flight': { type: 'string', default: '10' }, payload: { type: 'string', default: '100' },
      idle: { type: 'string', default: '1000' }, profile: { type: 'string' }, brokers: { type: 'string' },
    },
  });
  const o: Options = {
    messages: Number(values.messages), rounds: Number(values.rounds), devices: Number(values.devices), inFlight: Number(values['in-flight']),
    payload: Number(values.payload), idle: Number(values.idle), profileDir: values.profile,
    brokers: (values.brokers ?? process.env.TRIBUTARY_KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  };
  if (!(globalThis as { gc?: unknown }).gc) console.log('note: started without --expose-gc; the memory figures include uncollected garbage');
  console.log(`ingest cost bench: ${o.devices} devices × in-flight ${o.inFlight}, QoS 1 over TLS+SAS, ${o.payload}-byte JSON, ${o.rounds} × ${o.messages} messages; ${o.idle} idle connections`);
  const results: CostFigures[] = [];
  for (const kind of String(values.logs).split(',')) results.push(await measureLog(kind.trim(), o));
  console.log('\nsummary (hub process CPU per message: median of rounds)');
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  for (const r of results) {
    console.log(`  ${r.log.padEnd(8)} ${median(r.cpuUsPerMessage).toFixed(1).padStart(7)} µs/msg` +
      (r.idle ? `   idle TLS conn: heap ${r.idle.heapKiB.toFixed(2)} KiB, RSS ${r.idle.rssKiB.toFixed(2)} KiB (n=${r.idle.connections})` : ''));
  }
  const k = results.find((r) => r.log === 'kafka');
  const e = results.find((r) => r.log === 'embedded');
  if (k && e) console.log(`  ratio kafka/embedded CPU per message ${(median(k.cpuUsPerMessage) / median(e.cpuUsPerMessage)).toFixed(2)}×`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run(process.argv.slice(2)).then(() => process.exit(0), (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
