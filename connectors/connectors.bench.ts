/**
 * `npm run bench -- connectors` / `tributary bench connectors`: the ClickHouse connector on the real broker and
 * server, against a baseline measured in the same run (DESIGN.md §10: figures and ratios, never timed assertions).
 *
 * 1. plain client (baseline): the same rows, already decoded and mapped, inserted with @clickhouse/client in batches
 *    of B rows, one INSERT after the other — ClickHouse's own ceiling for this row shape on this machine;
 * 2. connector: runConnector(clickhouseConnector) drains N routed telemetry records (ForwardedRecord around an
 *    EnrichedDeviceMessage, ~150-byte JSON body, properties, enrichments) from Kafka: decode, map, dedupe check,
 *    INSERT, commit. Time runs from start to the last commit;
 * 3. replay: a second consumer group drains the same topic into the same tables — every row is a duplicate, so this is
 *    the cost of the dedupe check, and the row count must not move;
 * 4. latency: records produced at a fixed rate while the connector runs; per row, `inserted_at − enqueued_epoch_ms`
 *    (connector clock when the INSERT was sent − produce time), percentiles computed by ClickHouse. This is route
 *    topic → ClickHouse; the device → ClickHouse path through ingest, enrich and router is the load-test harness's.
 *
 * Each phase also shows CPU µs per row: this process's (user + system; it also runs the Kafka client) and, when
 * ClickHouse runs on this machine, the server's. On a busy 2-core machine rows/s swing with the neighbours' load; CPU
 * per row and the in-run ratio hold better. A first line gives the CPU of decodeRouted + toRow alone, without I/O.
 *
 * Options: --records N (50000) --devices D (200) --partitions P (3) --batch B (5000) --rate R (500) --seconds S (10)
 *          --brokers host:port,… (TRIBUTARY_KAFKA_BROKERS or 127.0.0.1:9092)
 *          --clickhouse URL (TRIBUTARY_CLICKHOUSE_URL or http://127.0.0.1:8123)
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from '@clickhouse/client';
import { KafkaLog } from '../core/log/kafka/kafka-log.ts';
import { TOPICS } from '../core/log/topics.ts';
import type { ProduceRecord } from '../core/log/types.ts';
import { AvroSerde, InProcessSchemaRegistry, SchemaCatalog, registerAllSchemas } from '../core/serde/index.ts';
import { formatTable } from '../load-tests/table.ts';
import { clickhouseConnector } from './clickhouse/index.ts';
import { toRow, type Row } from './clickhouse/rows.ts';
import { createDatabaseSql, createTableSql, insertColumns, layoutForVersion, qualifiedTable } from './clickhouse/tables.ts';
import { routedValue, sampleTelemetry, telemetryRecords } from './clickhouse/testing/routed-records.ts';
import { decodeRouted } from './runtime/routed-message.ts';
import { runConnector } from './runtime/run-connector.ts';

interface Figure {
  label: string;
  rows: number;
  seconds: number;
  /** Rows/s after the first commit: without the consumer-group join, which dominates small runs. */
  steady?: number;
  /** CPU time (user + system) of this process during the phase: on a shared 2-core machine, steadier than rows/s. */
  cpuMicros?: number;
  /** CPU time of the ClickHouse server during the phase, when it runs on this machine. */
  clickhouseMicros?: number;
  note: string;
}

const sum = (offsets: readonly { offset: number }[]) => offsets.reduce((s, o) => s + Number(o.offset), 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cpuSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return used.user + used.system;
};

/**
 * Reads the local ClickHouse server's CPU time (µs, user + system, from /proc on Linux), or undefined when ClickHouse
 * is not a process of this machine. On 2 cores the server's CPU per row counts as much as the connector's.
 */
function clickhouseCpuReader(url: string): (() => number) | undefined {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname)) return undefined;
  try {
    const pid = readdirSync('/proc').find((d) => /^\d+$/.test(d) && readFileSync(`/proc/${d}/comm`, 'utf8').trim().startsWith('clickhouse-serv'));
    if (pid === undefined) return undefined;
    return () => {
      // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (USER_HZ, 100 on Linux).
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10_000;
    };
  } catch {
    return undefined;
  }
}

export async function run(argv: string[]): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      records: { type: 'string', default: '50000' },
      devices: { type: 'string', default: '200' },
      partitions: { type: 'string', default: '3' },
      batch: { type: 'string', default: '5000' },
      rate: { type: 'string', default: '500' },
      seconds: { type: 'string', default: '10' },
      brokers: { type: 'string', default: process.env.TRIBUTARY_KAFKA_BROKERS ?? '127.0.0.1:9092' },
      clickhouse: { type: 'string', default: process.env.TRIBUTARY_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123' },
    },
    allowPositionals: true,
  });
  const records = Number(args.records);
  const devices = Number(args.devices);
  const partitions = Number(args.partitions);
  const batch = Number(args.batch);
  const rate = Number(args.rate);
  const seconds = Number(args.seconds);
  const url = args.clickhouse;

  const id = randomBytes(4).toString('hex');
  const topic = `iot.route.bench-ch-${id}`;
  const latencyTopic = `iot.route.bench-ch-lat-${id}`;
  const db = { plain: `bench_plain_${id}`, connector: `bench_conn_${id}`, latency: `bench_lat_${id}` };

  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-'));
  const registry = await InProcessSchemaRegistry.open({ dataDir });
  const catalog = SchemaCatalog.load();
  await registerAllSchemas(registry, catalog);
  const serde = new AvroSerde(registry, catalog);
  const log = await KafkaLog.connect({ brokers: args.brokers.split(','), clientId: 'bench-connectors' });
  const client = createClient({ url, compression: { request: true, response: true } });
  const query = async <T>(sql: string) => (await client.query({ query: sql, format: 'JSONEachRow' })).json<T>();
  const count = async (database: string) => Number((await query<{ c: string }>(`SELECT count() AS c FROM ${qualifiedTable(database, 'messages')}`))[0]?.c ?? 0);
  const version = (await query<{ v: string }>('SELECT version() AS v'))[0]?.v ?? '?';
  const layout = layoutForVersion(version);
  console.log(`connectors benchmark: ClickHouse ${version} (${layout} layout) at ${url}, Kafka at ${args.brokers}; ${records.toLocaleString()} routed messages from ${devices} devices, ${partitions} partitions, batches of ${batch}`);

  const figures: Figure[] = [];
  const clickhouseCpu = clickhouseCpuReader(url);
  let latencyLine: string | undefined;
  try {
    await log.createTopics([{ name: topic, partitions }, { name: latencyTopic, partitions }]);
    const produced: ProduceRecord[] = [];
    for (let start = 0; start < records; start += 5000) {
      const chunk = await telemetryRecords(serde, topic, Math.min(5000, records - start), devices, start);
      await log.produce(topic, chunk);
      produced.push(...chunk);
    }

    // 1. Baseline: the same rows, decoded and mapped before the clock starts (that CPU is shown on its own line).
    const rows: Row[] = [];
    let cpu0 = process.cpuUsage();
    let t0 = performance.now();
    for (const [i, r] of produced.entries()) {
      const message = await decodeRouted(serde, { topic, partition: 0, offset: i, key: null, value: r.value as Buffer, headers: {}, timestamp: 0 });
      rows.push({ ...toRow(message, layout).row, inserted_at: Date.now() });
    }
    figures.push({ label: 'decodeRouted + toRow only (no I/O)', rows: rows.length, seconds: (performance.now() - t0) / 1000, cpuMicros: cpuSince(cpu0), note: 'CPU of the decode and mapping alone' });
    await client.command({ query: createDatabaseSql(db.plain) });
    await client.command({ query: createTableSql(db.plain, 'messages', layout) });
    const columns = insertColumns('messages', layout).map((c) => `\`${c}\``) as [string, ...string[]];
    cpu0 = process.cpuUsage();
    let ch0 = clickhouseCpu?.();
    t0 = performance.now();
    for (let start = 0; start < rows.length; start += batch) {
      await client.insert({ table: qualifiedTable(db.plain, 'messages'), values: rows.slice(start, start + batch), format: 'JSONEachRow', columns });
    }
    figures.push({ label: 'plain @clickhouse/client insert (baseline)', rows: rows.length, seconds: (performance.now() - t0) / 1000, cpuMicros: cpuSince(cpu0), ...(ch0 !== undefined ? { clickhouseMicros: clickhouseCpu!() - ch0 } : {}), note: `${await count(db.plain)} rows in table` });

    // 2 and 3. The connector from Kafka, then a second group replaying the topic into the same tables.
    for (const phase of ['connector from Kafka', 'replay (all duplicates)']) {
      const groupId = `bench-clickhouse-${randomBytes(3).toString('hex')}`;
      t0 = performance.now();
      cpu0 = process.cpuUsage();
      ch0 = clickhouseCpu?.();
      const running = await runConnector(clickhouseConnector, { log, serde, topics: [topic], groupId, maxBatchRecords: batch, config: { url, database: db.connector } });
      let first: { at: number; committed: number } | undefined;
      try {
        for (let committed = 0; committed < records; await sleep(50)) {
          committed = sum(await log.committedOffsets(groupId, topic));
          if (!first && committed > 0) first = { at: performance.now(), committed };
        }
      } finally {
        await running.stop();
      }
      const end = performance.now();
      const cpuMicros = cpuSince(cpu0);
      const clickhouseMicros = ch0 !== undefined ? clickhouseCpu!() - ch0 : undefined;
      const steady = first && end > first.at && records > first.committed ? (records - first.committed) / ((end - first.at) / 1000) : undefined;
      figures.push({ label: phase, rows: records, seconds: (end - t0) / 1000, ...(steady ? { steady } : {}), cpuMicros, ...(clickhouseMicros !== undefined ? { clickhouseMicros } : {}), note: `${await count(db.connector)} rows in table` });
    }

    // 4. Latency at a fixed rate, in 20 ms ticks.
    const total = rate * seconds;
    const running = await runConnector(clickhouseConnector, { log, serde, topics: [latencyTopic], groupId: `bench-clickhouse-lat-${id}`, maxBatchRecords: batch, config: { url, database: db.latency } });
    try {
      const begin = Date.now();
      for (let sent = 0; sent < total;) {
        const due = Math.min(total, Math.floor(((Date.now() - begin) / 1000) * rate));
        if (due > sent) {
          const tick = await Promise.all(Array.from({ length: due - sent }, async (_, k) => {
            const message = sampleTelemetry(sent + k, devices, Date.now());
            return { key: message.connectionDeviceId, value: await routedValue(serde, latencyTopic, message, { sourceTopic: TOPICS.deviceMessagesEnriched, partition: 0, offset: sent + k }) };
          }));
          await log.produce(latencyTopic, tick);
          sent = due;
        }
        await sleep(20);
      }
      const deadline = Date.now() + 60_000;
      while ((await count(db.latency)) < total && Date.now() < deadline) await sleep(200);
    } finally {
      await running.stop();
    }
    const [lat] = await query<{ q: number[]; mx: string; n: string }>(
      `SELECT quantilesExact(0.5, 0.99)(toInt64(inserted_at) - toInt64(enqueued_epoch_ms)) AS q, max(toInt64(inserted_at) - toInt64(enqueued_epoch_ms)) AS mx, count() AS n FROM ${qualifiedTable(db.latency, 'messages')}`);
    latencyLine = `route topic → ClickHouse latency at ${rate} msg/s for ${seconds} s: p50 ${lat?.q[0]} ms, p99 ${lat?.q[1]} ms, max ${lat?.mx} ms over ${lat?.n} rows (of ${total} sent)`;
  } finally {
    await log.deleteTopics([topic, latencyTopic]).catch(() => undefined);
    await log.close();
    for (const name of Object.values(db)) await client.command({ query: `DROP DATABASE IF EXISTS \`${name}\`` }).catch(() => undefined);
    await client.close();
    await registry.close();
    await rm(dataDir, { recursive: true, force: true });
  }

  console.log();
  const perRow = (micros: number | undefined, rows: number) => (micros !== undefined ? (micros / rows).toFixed(1) : '');
  console.log(formatTable(['phase', 'rows', 'seconds', 'rows/s', 'rows/s after 1st commit', 'CPU µs/row', 'ClickHouse CPU µs/row', 'note'],
    figures.map((f) => [f.label, f.rows.toLocaleString(), f.seconds.toFixed(2), Math.round(f.rows / f.seconds).toLocaleString(), f.steady ? Math.round(f.steady).toLocaleString() : '',
      perRow(f.cpuMicros, f.rows), perRow(f.clickhouseMicros, f.rows), f.note]), [0, 7]));
  console.log('(CPU µs/row: user + system time of this process, which also runs the Kafka client; ClickHouse CPU: the local server\'s, 10 ms resolution)');
  console.log();
  const base = figures.find((f) => f.label.startsWith('plain'))!;
  const baseRate = base.rows / base.seconds;
  for (const f of figures.filter((f) => f.label === 'connector from Kafka' || f.label.startsWith('replay'))) {
    const steady = f.steady ? `, ${(f.steady / baseRate).toFixed(2)}x after the first commit` : '';
    console.log(`${f.label} / plain insert: ${((f.rows / f.seconds) / baseRate).toFixed(2)}x overall${steady}`);
  }
  if (latencyLine) console.log(latencyLine);
  console.log(`peak RSS of the whole run: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}
