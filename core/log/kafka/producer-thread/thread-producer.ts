/**
 * KafkaLog's producer on a worker thread (`kafka.producerThread`, on by default in the hub). Why: encoding produce
 * requests is kafkajs' largest cost — about a quarter of an ingest node's main-thread time at full rate, plus the
 * garbage it leaves — and an ingest node's main thread also runs every device's TLS and MQTT. On the thread, that
 * work moves to another core; what stays is one copy of each record into a transferred buffer (record-codec.ts).
 *
 * Guarantees are the thread's LogProducer's: produce() resolves once Kafka acknowledged (acks=all, idempotent) and
 * rejects with a TributaryError otherwise. If the thread dies, what it had not answered is failed with LogUnavailable
 * (retriable: nothing was acknowledged to anyone) and a new thread is started.
 */
import type { Worker } from 'node:worker_threads';
import { TributaryError } from '../../../errors/index.ts';
import type { Logger } from '../../../logging/logger.ts';
import { startTsWorker } from '../../../threads/ts-worker.ts';
import type { ProduceRecord, RecordMetadata } from '../../types.ts';
import { logClosedError } from '../errors.ts';
import type { LogProducerLike } from '../log-producer.ts';
import { deserializeError, type FromProducerThread, type ProducerThreadInput, type ToProducerThread } from './messages.ts';
import { encodeRecords } from './record-codec.ts';

interface Waiting {
  topic: string;
  resolve(placed: RecordMetadata[]): void;
  reject(err: Error): void;
}

const ENTRY = new URL('./worker.ts', import.meta.url);
/** A thread that dies this soon after its start is restarted only after RESTART_DELAY_MS (no hot crash loop). */
const QUICK_DEATH_MS = 5_000;
const RESTART_DELAY_MS = 1_000;
/**
 * The thread's garbage is short-lived (a record lives until its request is acknowledged, milliseconds), so a small
 * young generation costs little: V8 would otherwise grow it to several tens of MB during any burst (10,000 connects
 * are 10,000 connection events) and keep that, about 3 KiB per connection in `connections-memory` at 10,000 idle
 * connections. Measured: 8 MB keeps that to about 0.5 KiB; the ingest bench's rate changed by less than its run-to-run spread.
 */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 8 };

export class ThreadProducer implements LogProducerLike {
  private worker!: Worker;
  private startedAt = 0;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private closing: Promise<void> | undefined;
  private sentRequests = 0;
  /** False between an unexpected exit and the next thread: produce() fails at once instead of posting into the void. */
  private alive = false;

  private constructor(
    private readonly input: ProducerThreadInput,
    private readonly logger: Logger,
  ) {}

  /** Starts the thread and waits until its producer is connected; rejects with the thread's error otherwise. */
  static async start(input: ProducerThreadInput, logger: Logger): Promise<ThreadProducer> {
    const p = new ThreadProducer(input, logger);
    await p.spawn();
    return p;
  }

  get requests(): number {
    return this.sentRequests;
  }

  produce(topic: string, records: ProduceRecord[]): Promise<RecordMetadata[]> {
    if (this.closing) return Promise.reject(logClosedError('produce'));
    if (records.length === 0) return Promise.resolve([]);
    if (!this.alive) return Promise.reject(new TributaryError('LogUnavailable', 'the Kafka producer thread is restarting; send again.'));
    let packed: ArrayBuffer;
    try {
      packed = encodeRecords(records);
    } catch (err) {
      return Promise.reject(new TributaryError('ArgumentInvalid', `cannot pack records for ${topic}: ${(err as Error).message}`));
    }
    const id = this.nextId++;
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      this.waiting.set(id, { topic, resolve, reject });
      this.send({ op: 'produce', id, topic, records: packed }, [packed]);
    });
  }

  forgetTopics(topics: string[]): void {
    if (!this.closing && this.alive) this.send({ op: 'forget', topics });
  }

  close(timeoutMs: number): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (!this.alive) return resolve();
      const worker = this.worker;
      const done = () => {
        clearTimeout(timer);
        this.failWaiting(logClosedError('produce'));
        resolve();
      };
      // The thread fails its own queue after timeoutMs; the extra time covers its disconnect.
      const timer = setTimeout(() => void worker.terminate().then(done), timeoutMs + 10_000);
      worker.once('exit', done);
      worker.postMessage({ op: 'close', timeoutMs } satisfies ToProducerThread);
    });
    return this.closing;
  }

  private send(m: ToProducerThread, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(m, transfer);
  }

  /** Starts a thread; resolves when its producer is connected, rejects when it could not connect. */
  private spawn(): Promise<void> {
    const worker = startTsWorker(ENTRY, this.input, THREAD_LIMITS);
    this.worker = worker;
    this.alive = true;
    this.startedAt = Date.now();
    return new Promise<void>((resolve, reject) => {
      let started = false;
      worker.on('message', (m: FromProducerThread) => {
        switch (m.op) {
          case 'ready':
            started = true;
            resolve();
            return;
          case 'startFailed':
            reject(deserializeError(m.error));
            return;
          case 'produced': {
            this.sentRequests = m.requests;
            const w = this.take(m.id);
            if (!w) return;
            const placed = new Array<RecordMetadata>(m.placement.length / 2);
            for (let i = 0; i < placed.length; i++) placed[i] = { topic: w.topic, partition: m.placement[2 * i]!, offset: m.placement[2 * i + 1]! };
            w.resolve(placed);
            return;
          }
          case 'failed':
            this.sentRequests = m.requests;
            this.take(m.id)?.reject(deserializeError(m.error));
            return;
          case 'closed':
            return;
        }
      });
      worker.on('error', (err) => {
        this.logger.error({ err }, 'the Kafka producer thread failed');
        if (!started) reject(new TributaryError('LogUnavailable', `the Kafka producer thread could not start: ${err.message}`, { cause: err }));
      });
      worker.on('exit', (code) => {
        if (this.worker !== worker) return;
        this.alive = false;
        this.failWaiting(new TributaryError('LogUnavailable', `the Kafka producer thread stopped (exit code ${code}) before Kafka answered; send again.`));
        if (!started) {
          reject(new TributaryError('LogUnavailable', `the Kafka producer thread exited during start-up (exit code ${code})`));
          return;
        }
        if (this.closing) return;
        this.restart();
      });
    });
  }

  /** After an unexpected exit: a new thread, retried every RESTART_DELAY_MS while Kafka cannot be reached. */
  private restart(): void {
    const delay = Date.now() - this.startedAt < QUICK_DEATH_MS ? RESTART_DELAY_MS : 0;
    setTimeout(() => {
      if (this.closing) return;
      this.logger.warn('starting a new Kafka producer thread');
      this.spawn().catch((err: unknown) => {
        this.logger.error({ err }, 'the new Kafka producer thread could not connect; trying again');
        this.failWaiting(err as Error);
        this.restart();
      });
    }, delay).unref();
  }

  private take(id: number): Waiting | undefined {
    const w = this.waiting.get(id);
    this.waiting.delete(id);
    return w;
  }

  private failWaiting(err: Error): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.reject(err);
  }
}
