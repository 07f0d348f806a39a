/**
 * `npm run bench -- log` / `tributary bench log`: Log throughput against the real broker, with raw kafkajs measured
 * in the same run as the baseline (DESIGN.md §10: figures and ratios, never timed assertions).
 *
 *   (a) raw kafkajs producer: idempotent, acks=-1, sendBatch of ~512 KB requests back to back
 *   (b) KafkaLog.produce driven like ingest drives it: thousands of concurrent one-record produce() calls
 *   (c) KafkaLog consumer, (d) raw kafkajs eachBatch consumer, (e) EmbeddedLog produce/consume (fsync on)
 *
 * Options: --records N (200000) --size BYTES (256) --partitions P (6) --concurrency C (4000)
 *          --compression none|gzip (none) --brokers host:port,… (TRIBUTARY_KAFKA_BROKERS or 127.0.0.1:9092)
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CompressionTypes, Kafka, Partitioners, logLevel, type Message, type Producer } from 'kafkajs';
import { KafkaLog } from './kafka/kafka-log.ts';
import type { Log } from './types.ts';
import { formatTable } from '../../load-tests/table.ts';

interface Workload {
  records: number;
  size: number;
  partitions: number;
  concurrency: number;
  compression: 'none' | 'gzip';
  brokers: string[];
  keys: string[];
  values: Buffer[];
}

interface Figure {
  label: string;
  records: number;
  bytes: number;
  seconds: number;
  peakRss: number;
  note?: string;
}

const MB = 1024 * 1024;

/** Loaded lazily: the benchmark still runs (a)–(d) when core/log/embedded/ is absent. */
interface EmbeddedModule {
  EmbeddedLog: { open(options: { dataDir: string }): Promise<Log> };
}

/** Adds up the rounds of one phase (interleaving rounds cancels drift on a shared, noisy machine). */
function merge(parts: Figure[]): Figure {
  const first = parts[0]!;
  return {
    label: first.label,
    records: parts.reduce((s, f) => s + f.records, 0),
    bytes: parts.reduce((s, f) => s + f.bytes, 0),
    seconds: parts.reduce((s, f) => s + f.seconds, 0),
    peakRss: Math.max(...parts.map((f) => f.peakRss)),
    note: parts.length > 1 ? `${parts.length} rounds; ${parts.map((f) => f.note ?? '').join(' + ')}` : first.note,
  };
}

/** Samples RSS while a phase runs, so each figure carries the peak of its own phase. */
function rssSampler() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage().rss);
  };
}

function progress(label: string, done: () => number, total: number) {
  const start = Date.now();
  const tty = process.stderr.isTTY;
  const timer = setInterval(() => {
    const line = `  ${label}: ${done().toLocaleString()} / ${total.toLocaleString()} (${((Date.now() - start) / 1000).toFixed(1)} s)`;
    process.stderr.write(tty ? `\r${line}` : `${line}\n`);
  }, tty ? 250 : 2000);
  return () => {
    clearInterval(timer);
    if (tty) process.stderr.write('\r\x1b[K');
  };
}

/** Telemetry-like JSON payloads of exactly `size` bytes, varied so compression sees realistic data. */
function makeValues(size: number): Buffer[] {
  return Array.from({ length: 1024 }, (_, i) => {
    const body = JSON.stringify({ deviceId: `device-${i}`, ts: Date.now() + i, temperature: 20 + Math.random() * 10, humidity: Math.random() * 100, pad: '' });
    const pad = Math.max(0, size - body.length);
    const filler = randomBytes(pad).toString('base64').slice(0, pad);
    return Buffer.from(body.replace('"pad":""', `"pad":"${filler}"`).slice(0, Math.max(size, body.length)));
  });
}

async function rawProduce(producer: Producer, topic: string, w: Workload, records: number): Promise<Figure> {
  const compression = w.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  const perRequest = Math.max(1, Math.floor((512 * 1024) / (w.size + 30)));
  let sent = 0;
  const stopRss = rssSampler();
  const stopProgress = progress('(a) raw kafkajs produce', () => sent, records);
  const t0 = performance.now();
  while (sent < records) {
    const n = Math.min(perRequest, records - sent);
    const messages: Message[] = new Array(n);
    for (let i = 0; i < n; i++) messages[i] = { key: w.keys[(sent + i) % w.keys.length]!, value: w.values[(sent + i) % w.values.length]! };
    await producer.sendBatch({ acks: -1, compression, topicMessages: [{ topic, messages }] });
    sent += n;
  }
  const seconds = (performance.now() - t0) / 1000;
  stopProgress();
  return { label: '(a) raw kafkajs produce', records: sent, bytes: sent * w.size, seconds, peakRss: stopRss(), note: `${Math.ceil(records / perRequest)} requests` };
}

/** Ingest-style driver: `concurrency` producers each awaiting its one-record produce() before the next. */
async function logProduce(label: string, log: Log, topic: string, w: Workload, records: number, requests?: () => number): Promise<Figure> {
  let next = 0;
  let acked = 0;
  const before = requests?.() ?? 0;
  const stopRss = rssSampler();
  const stopProgress = progress(label, () => acked, records);
  const t0 = performance.now();
  const worker = async () => {
    while (next < records) {
      const i = next++;
      await log.produce(topic, [{ key: w.keys[i % w.keys.length]!, value: w.values[i % w.values.length]! }]);
      acked++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(w.concurrency, records) }, worker));
  const seconds = (performance.now() - t0) / 1000;
  stopProgress();
  const note = requests ? `${(requests() - before).toLocaleString()} requests for ${records.toLocaleString()} produce() calls` : `${w.concurrency} concurrent callers`;
  return { label, records: acked, bytes: acked * w.size, seconds, peakRss: stopRss(), note };
}

/** Consumes the topic from the beginning; time runs from the first delivered record to the last. */
async function logConsume(label: string, log: Log, topic: string, w: Workload): Promise<Figure> {
  let count = 0;
  let first = 0;
  let batches = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const stopRss = rssSampler();
  const stopProgress = progress(label, () => count, w.records);
  const consumer = log.consumer({ groupId: `bench-${topic}-${randomBytes(3).toString('hex')}`, topics: [topic], fromBeginning: true, maxBatchRecords: 500 });
  await consumer.start(async (batch) => {
    if (first === 0) first = performance.now();
    count += batch.records.length;
    batches++;
    if (count >= w.records) done();
  });
  await finished;
  const seconds = (performance.now() - first) / 1000;
  stopProgress();
  await consumer.stop();
  return { label, records: count, bytes: count * w.size, seconds, peakRss: stopRss(), note: `${batches.toLocaleString()} batches` };
}

async function rawConsume(kafka: Kafka, topic: string, w: Workload): Promise<Figure> {
  const consumer = kafka.consumer({ groupId: `bench-raw-${topic}-${randomBytes(3).toString('hex')}`, maxWaitTimeInMs: 500 });
  let count = 0;
  let first = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const stopRss = rssSampler();
  const stopProgress = progress('(d) raw kafkajs consume', () => count, w.records);
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      if (first === 0) first = performance.now();
      count += batch.messages.length;
      if (count >= w.records) done();
    },
  });
  await finished;
  const seconds = (performance.now() - first) / 1000;
  stopProgress();
  await consumer.disconnect();
  return { label: '(d) raw kafkajs consume', records: count, bytes: count * w.size, seconds, peakRss: stopRss() };
}

async function embeddedFigures(w: Workload): Promise<Figure[]> {
  let mod: EmbeddedModule;
  try {
    mod = (await import('./embedded/index.ts')) as EmbeddedModule;
  } catch (err) {
    process.stderr.write(`  EmbeddedLog not available (${err instanceof Error ? err.message : String(err)}); skipping (e)\n`);
    return [];
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-'));
  const log = await mod.EmbeddedLog.open({ dataDir });
  try {
    const topic = 'bench.embedded';
    await log.createTopics([{ name: topic, partitions: w.partitions }]);
    const produced = await logProduce('(e) EmbeddedLog produce', log, topic, w, w.records);
    const consumed = await logConsume('(e) EmbeddedLog consume', log, topic, w);
    return [produced, consumed];
  } finally {
    await log.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function printTable(figures: Figure[]): void {
  const rows = figures.map((f) => [
    f.label,
    f.records.toLocaleString(),
    f.seconds.toFixed(2),
    Math.round(f.records / f.seconds).toLocaleString(),
    (f.bytes / MB / f.seconds).toFixed(1),
    (f.peakRss / MB).toFixed(0),
    f.note ?? '',
  ]);
  const header = ['phase', 'records', 'seconds', 'records/s', 'MB/s', 'peak RSS MB', 'note'];
  console.log(formatTable(header, rows, [0, 6]));
}

export async function run(argv: string[]): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      records: { type: 'string', default: '200000' },
      size: { type: 'string', default: '256' },
      partitions: { type: 'string', default: '6' },
      concurrency: { type: 'string', default: '4000' },
      compression: { type: 'string', default: 'none' },
      brokers: { type: 'string', default: process.env.TRIBUTARY_KAFKA_BROKERS ?? '127.0.0.1:9092' },
    },
    allowPositionals: true,
  });
  const compression = args.compression === 'gzip' ? 'gzip' : 'none';
  const w: Workload = {
    records: Number(args.records),
    size: Number(args.size),
    partitions: Number(args.partitions),
    concurrency: Number(args.concurrency),
    compression,
    brokers: args.brokers.split(','),
    keys: Array.from({ length: 1000 }, (_, i) => `device-${i}`),
    values: makeValues(Number(args.size)),
  };
  console.log(
    `log benchmark: ${w.records.toLocaleString()} records of ${w.size} B, ${w.partitions} partitions, acks=all, idempotent, compression ${w.compression}, KafkaLog driven by ${w.concurrency} concurrent produce() callers`,
  );
  const kafka = new Kafka({ clientId: 'bench', brokers: w.brokers, logLevel: logLevel.ERROR });
  const log = await KafkaLog.connect({ brokers: w.brokers, clientId: 'bench', compression });
  const id = randomBytes(4).toString('hex');
  const rawTopic = `bench.raw.${id}`;
  const logTopic = `bench.kafkalog.${id}`;
  const figures: Figure[] = [];
  try {
    await log.createTopics([{ name: rawTopic, partitions: w.partitions }, { name: logTopic, partitions: w.partitions }]);
    // Rounds alternate raw and wrapper so both see the same machine load (other work shares these 2 cores).
    const rounds = 2;
    const perRound = Math.ceil(w.records / rounds);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const rawParts: Figure[] = [];
    const logParts: Figure[] = [];
    try {
      for (let r = 0; r < rounds; r++) {
        const n = Math.min(perRound, w.records - r * perRound);
        rawParts.push(await rawProduce(producer, rawTopic, w, n));
        logParts.push(await logProduce('(b) KafkaLog produce', log, logTopic, w, n, () => log.produceRequests));
      }
    } finally {
      await producer.disconnect();
    }
    const logConsumeParts: Figure[] = [];
    const rawConsumeParts: Figure[] = [];
    for (let r = 0; r < rounds; r++) {
      logConsumeParts.push(await logConsume('(c) KafkaLog consume', log, logTopic, w));
      rawConsumeParts.push(await rawConsume(kafka, rawTopic, w));
    }
    figures.push(merge(rawParts), merge(logParts), merge(logConsumeParts), merge(rawConsumeParts));
    figures.push(...(await embeddedFigures(w)));
  } finally {
    await log.deleteTopics([rawTopic, logTopic]).catch(() => undefined);
    await log.close();
  }
  console.log();
  printTable(figures);
  const rate = (label: string) => {
    const f = figures.find((x) => x.label.startsWith(label));
    return f ? f.records / f.seconds : NaN;
  };
  console.log();
  console.log(`produce ratio KafkaLog/raw: ${(rate('(b)') / rate('(a)')).toFixed(2)}x (target >= 0.9x)`);
  console.log(`consume ratio KafkaLog/raw: ${(rate('(c)') / rate('(d)')).toFixed(2)}x (target >= 0.9x)`);
  if (figures.some((f) => f.label.startsWith('(e)'))) {
    console.log(`EmbeddedLog/KafkaLog: produce ${(rate('(e) EmbeddedLog produce') / rate('(b)')).toFixed(2)}x, consume ${(rate('(e) EmbeddedLog consume') / rate('(c)')).toFixed(2)}x`);
  }
  console.log(`peak RSS of the whole run: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}
