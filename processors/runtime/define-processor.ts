import type { Static, TSchema } from '@sinclair/typebox';
import type { Logger } from '../../core/logging/logger.ts';
import type { AvroSerde } from '../../core/serde/index.ts';
import type { Headers, LogRecord } from '../../core/log/types.ts';

/** A record a processor emits: where it goes and what it carries. Strings are written as UTF-8. */
export interface OutputRecord {
  topic: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string>;
  /** Defaults to the input record's timestamp, so event time survives the pipeline. */
  timestamp?: number;
}

export interface ProcessContext {
  readonly logger: Logger;
  /** The input record's headers, for processors that only pass them on. */
  readonly headers: Headers;
}

/**
 * A processor (DESIGN.md §4): `process(record, ctx) → records`. Zero records filters the input; a thrown error
 * (ideally a TributaryError with a code) sends the input to `iot.deadletter` with the code in a header and the
 * partition goes on. Processors hold no offsets and do no I/O to the log themselves: the runtime consumes, calls
 * `process` in per-partition order, produces the outputs and commits only after they are acknowledged.
 */
export interface Processor {
  process(record: LogRecord, ctx: ProcessContext): OutputRecord[] | Promise<OutputRecord[]>;
  /**
   * Called after the runtime committed a batch: every record of `topic`/`partition` below `nextOffset` is done for
   * good. Count per-record outcomes here rather than in `process`, so a batch replayed after a retriable error (or a
   * crash before the commit) is counted once. Must not throw (a throw is logged and ignored).
   */
  onCommitted?(committed: { topic: string; partition: number; nextOffset: number }): void;
  /** Releases what `create` acquired (caches, connections). */
  close?(): Promise<void>;
}

export interface ProcessorDefinition<S extends TSchema = TSchema> {
  /** kebab-case; names the consumer group (`tributary-processor-<name>`), metrics labels and the docs page. */
  name: string;
  description: string;
  /** The processor's settings, declared once: TS type, start-up validation and generated reference all come from it. */
  configSchema: S;
  /** Topics the processor reads, possibly depending on its configuration. */
  inputTopics(config: Static<S>): string[];
  create(config: Static<S>, deps: { logger: Logger; serde: AvroSerde }): Processor | Promise<Processor>;
}

/** Declares a processor; typing only — it returns the definition unchanged so its config type flows into `create`. */
export function defineProcessor<S extends TSchema>(definition: ProcessorDefinition<S>): ProcessorDefinition<S> {
  return definition;
}
