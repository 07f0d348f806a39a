/**
 * Crash recovery of the router on real Kafka (DESIGN.md §6, at-least-once): a router process is SIGKILLed mid-stream,
 * a second one takes over the same consumer group, and the endpoint topic ends up with every message at least once,
 * with no more duplicates than the batches that can have been produced but not committed when the first one died
 * (maxBatchRecords per partition). The first one dies exactly in that window: after its outputs were acknowledged,
 * before the commit. Routes live in PostgreSQL (a fresh schema) so both processes share them; schemas in
 * the Confluent-compatible registry so records encoded by one process decode anywhere.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { KafkaLog } from '../../core/log/kafka/kafka-log.ts';
import type { LogRecord } from '../../core/log/types.ts';
import { AvroSerde, ConfluentSchemaRegistry, SchemaCatalog, registerAllSchemas, type EnrichedDeviceMessage, type ForwardedRecord } from '../../core/serde/index.ts';
import { PgStore, migrate } from '../../core/store/index.ts';
import { eventually, services, uniqueName } from '../../test/support/services.ts';
import { RouteStore } from './routes.ts';

const RECORDS = 2_000;
const PARTITIONS = 3;
const MAX_BATCH = 50;
const id = uniqueName('restart').replaceAll('.', '-');
const schema = `tributary_restart_${randomBytes(4).toString('hex')}`;
const input = `test.${id}.enriched`;
const endpoint = `all-${id}`;
const endpointTopic = `iot.route.${endpoint}`;
const group = uniqueName('router-restart');
const childEntry = fileURLToPath(new URL('./testing/router-child.ts', import.meta.url));

let log: KafkaLog;
let store: PgStore;
let registry: ConfluentSchemaRegistry;
let serde: AvroSerde;
const children: ChildProcess[] = [];

async function admin(sql: string): Promise<void> {
  const a = new PgStore({ url: services.databaseUrl, maxConnections: 1 });
  try {
    await a.exec(sql);
  } finally {
    await a.close();
  }
}

before(async () => {
  log = await KafkaLog.connect({ brokers: services.kafkaBrokers, clientId: 'router-restart-int' });
  registry = new ConfluentSchemaRegistry({ url: services.schemaRegistryUrl });
  const catalog = SchemaCatalog.load();
  await registerAllSchemas(registry, catalog);
  serde = new AvroSerde(registry, catalog);
  // The name is hex from randomBytes, never input; identifiers cannot be parameters.
  await admin(`CREATE SCHEMA ${schema}`);
  store = new PgStore({ url: services.databaseUrl, schema });
  await migrate(store);
  const routes = new RouteStore(store);
  await routes.putEndpoint({ name: endpoint, type: 'kafka' });
  await routes.putRoute({ name: 'all', source: 'DeviceMessages', condition: '$body.i >= 0', endpointNames: [endpoint] });
  // No fallback: it would write to the shared iot.route.events topic.
  await routes.putFallback({ isEnabled: false });
  await log.createTopics([{ name: input, partitions: PARTITIONS }, { name: endpointTopic, partitions: PARTITIONS }]);
});

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await log.deleteTopics([input, endpointTopic]).catch(() => undefined);
  await log.close();
  await store.close();
  await registry.close();
  await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
});

/** Starts a router process; resolves once it printed `started` (and, with holdAfter, exposes when it is `holding`). */
async function startRouter(holdAfter?: number): Promise<{ child: ChildProcess; holding: Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', childEntry], {
    env: {
      ...process.env,
      ROUTER_CHILD_DATABASE_URL: services.databaseUrl, ROUTER_CHILD_SCHEMA: schema, ROUTER_CHILD_INPUT: input,
      ROUTER_CHILD_GROUP: group, ROUTER_CHILD_MAX_BATCH: String(MAX_BATCH), ROUTER_CHILD_BROKERS: services.kafkaBrokers.join(','),
      ROUTER_CHILD_REGISTRY_URL: services.schemaRegistryUrl, ROUTER_CHILD_HOLD_AFTER: holdAfter === undefined ? '' : String(holdAfter),
      TRIBUTARY_LOG_LEVEL: process.env.TRIBUTARY_LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  const seen = (word: string) => new Promise<void>((resolve, reject) => {
    const check = () => out.split('\n').includes(word) && resolve();
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      check();
    });
    child.once('exit', (code, signal) => reject(new Error(`router child exited (${code ?? signal}) before printing ${word}; stdout: ${out}`)));
  });
  const started = seen('started');
  const holding = seen('holding');
  holding.catch(() => undefined);
  await started;
  return { child, holding };
}

async function endpointCount(): Promise<number> {
  return (await log.endOffsets(endpointTopic)).reduce((sum, p) => sum + Number(p.offset), 0);
}

async function readAll(topic: string, count: number): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  const consumer = log.consumer({ groupId: uniqueName('router-restart-reader'), topics: [topic], fromBeginning: true });
  await consumer.start(async (batch) => {
    records.push(...batch.records);
  });
  try {
    await eventually(`${count} records on ${topic}`, () => (records.length >= count ? true : undefined));
  } finally {
    await consumer.stop();
  }
  return records;
}

test('a router SIGKILLed mid-stream and restarted loses nothing; duplicates stay within the uncommitted batches', async (t) => {
  const messages: EnrichedDeviceMessage[] = Array.from({ length: RECORDS }, (_, i) => ({
    messageId: `m-${i}`, contentType: 'application/json', contentEncoding: 'utf-8', enqueuedTime: 1_767_225_600_000 + i,
    connectionDeviceId: `dev-${i % 16}`, ingestNode: 'test', protocol: 'Mqtt', properties: {}, twin: null,
    body: Buffer.from(JSON.stringify({ i })),
  }));
  const encoded = await Promise.all(messages.map(async (m) => ({ key: m.connectionDeviceId, value: await serde.encode('iot.device.messages.enriched', m) })));
  for (let i = 0; i < encoded.length; i += 500) await log.produce(input, encoded.slice(i, i + 500));

  // The first router stops committing after a third of the records (a gate, not a timer): its last batch per partition
  // is on the endpoint but uncommitted when it dies hard.
  const first = await startRouter(Math.floor(RECORDS / 3));
  await first.holding;
  await eventually('some records on the endpoint before the kill', async () => ((await endpointCount()) > 0 ? true : undefined));
  const exited = once(first.child, 'exit');
  first.child.kill('SIGKILL');
  await exited;
  const beforeRestart = await endpointCount();
  assert.ok(beforeRestart > 0 && beforeRestart < RECORDS, `killed mid-stream: ${beforeRestart} of ${RECORDS} on the endpoint`);

  const second = await startRouter();
  try {
    await eventually('the second router to commit the whole input', async () => {
      const ends = await log.endOffsets(input);
      const committed = await log.committedOffsets(group, input);
      const done = ends.every((e) => Number(committed.find((c) => c.partition === e.partition)?.offset ?? -1) >= Number(e.offset));
      return done ? true : undefined;
    }, 120_000);
  } finally {
    const exited2 = once(second.child, 'exit');
    second.child.kill('SIGTERM');
    await exited2;
  }

  const total = await endpointCount();
  const records = await readAll(endpointTopic, total);
  const ids = await Promise.all(records.map(async (r) => {
    const forwarded = await serde.decode<ForwardedRecord>(r.value!);
    return (await serde.decode<EnrichedDeviceMessage>(forwarded.value!)).messageId!;
  }));
  const unique = new Set(ids);
  const missing = messages.filter((m) => !unique.has(m.messageId!)).map((m) => m.messageId);
  assert.deepEqual(missing, [], 'every message reached the endpoint at least once');
  const duplicates = ids.length - unique.size;
  t.diagnostic(`${beforeRestart} of ${RECORDS} on the endpoint at the kill; ${ids.length} records in the end, ${duplicates} duplicates (bound ${MAX_BATCH * PARTITIONS})`);
  assert.ok(duplicates >= 1, 'the batch produced but not committed before the kill is replayed (else the kill missed that window)');
  assert.ok(duplicates <= MAX_BATCH * PARTITIONS, `${duplicates} duplicates, more than the ${MAX_BATCH * PARTITIONS} records of the batches in flight`);
});
