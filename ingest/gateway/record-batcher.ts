/**
 * One `log.produce` per event-loop turn instead of one per message (issue 5 item 4: "no per-message awaits on the hot
 * path (batch)"). Everything submitted while the sockets of one poll phase are read — the publishes of every device —
 * goes to the log as one call at setImmediate, in submission order, so per-key order holds. Each submitter is told
 * through `WriteSink.written(token, err)`: no promise, closure or `.then` chain per message (they were a large share
 * of the node's CPU per message; see ingest/cost.bench.ts). Avro encoding happens here too, synchronously once the
 * writer schema is known; only the very first batch (or one after a schema refresh) waits for the registry, and later
 * batches queue behind it so order still holds.
 */
import type { Log, ProduceRecord } from '../../core/log/types.ts';
import type { AvroSerde } from '../../core/serde/avro-serde.ts';

/** Told once per submitted record: `err` undefined when the log holds it durably. */
export interface WriteSink<T> {
  written(token: T, err: Error | undefined): void;
}

interface Entry {
  key: string;
  value: unknown;
  timestamp: number;
  sink: WriteSink<unknown>;
  token: unknown;
}

export class RecordBatcher {
  private batch: Entry[] = [];
  private scheduled = false;
  /** A batch waiting for the writer schema; later batches wait behind it. */
  private preparing = false;

  /** `onSettled(n)` after n records were written or failed (the gateway's node-wide in-flight count). */
  constructor(
    private readonly log: Log,
    private readonly serde: AvroSerde,
    /** Schema topic (the canonical name) and the physical topic records go to. */
    private readonly schemaTopic: string,
    private readonly topic: string,
    private readonly onSettled: (count: number) => void,
  ) {}

  add<T>(key: string, value: unknown, timestamp: number, sink: WriteSink<T>, token: T): void {
    this.batch.push({ key, value, timestamp, sink: sink as WriteSink<unknown>, token });
    if (!this.scheduled && !this.preparing) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.preparing || this.batch.length === 0) return;
    const entries = this.batch;
    const records: ProduceRecord[] = [];
    const sent: Entry[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      let value: Buffer | undefined;
      try {
        value = this.serde.encodeSync(this.schemaTopic, e.value);
      } catch (err) {
        // This record does not match the schema: it alone fails.
        this.settle(e, err as Error);
        continue;
      }
      if (value === undefined) return this.waitForSchema(entries.slice(i), records, sent);
      records.push({ key: e.key, value, timestamp: e.timestamp });
      sent.push(e);
    }
    this.batch = [];
    this.produce(records, sent);
  }

  /** The writer schema is not known yet: send what is encoded, keep the rest (and what comes later) until it is. */
  private waitForSchema(rest: Entry[], records: ProduceRecord[], sent: Entry[]): void {
    this.batch = rest;
    if (records.length > 0) this.produce(records, sent);
    this.preparing = true;
    this.serde.prepare(this.schemaTopic).then(
      () => {
        this.preparing = false;
        this.flush();
      },
      (err: unknown) => {
        this.preparing = false;
        const failed = this.batch;
        this.batch = [];
        for (const e of failed) this.settle(e, err as Error);
      },
    );
  }

  private produce(records: ProduceRecord[], sent: Entry[]): void {
    if (records.length === 0) return;
    this.log.produce(this.topic, records).then(
      () => {
        for (const e of sent) e.sink.written(e.token, undefined);
        this.onSettled(sent.length);
      },
      (err: unknown) => {
        for (const e of sent) e.sink.written(e.token, err as Error);
        this.onSettled(sent.length);
      },
    );
  }

  private settle(e: Entry, err: Error): void {
    e.sink.written(e.token, err);
    this.onSettled(1);
  }
}
