import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient, type Logger as ClientLogger } from '@clickhouse/client';
import { TributaryError, toTributaryError } from '../../core/errors/index.ts';
import type { Logger } from '../../core/logging/logger.ts';
import { counter, histogram } from '../../core/metrics/registry.ts';
import type { AvroSerde } from '../../core/serde/index.ts';
import { SinkError, type SinkBatch, type SinkConnector } from '../runtime/define-connector.ts';
import { decodeRouted, decodeRoutedSync, type RoutedMessage } from '../runtime/routed-message.ts';
import { classifyFailure, describeFailure } from './clickhouse-errors.ts';
import type { ClickHouseConfig } from './config.ts';
import { KEYS_PER_QUERY, KEYS_STRUCTURE, KEYS_TABLE, existingKeysSql, keyId, keysTsv, stringLiteral, type RowKey } from './dedupe.ts';
import { tableOf, toRow, type MappedRow } from './rows.ts';
import {
  TABLE_NAMES, createDatabaseSql, createTableSql, detectLayout, insertColumns, layoutForVersion, qualifiedTable, quoteIdentifier,
  type Layout, type TableName,
} from './tables.ts';

const rowsTotal = counter('tributary_clickhouse_rows_total', 'Rows by table and outcome (inserted, duplicate, failed).', ['table', 'outcome']);
const insertSeconds = histogram('tributary_clickhouse_insert_duration_seconds', 'Duration of one INSERT (one per table per batch).', ['table']);

export interface Pending {
  index: number;
  mapped: MappedRow;
}

/** Reads a response to its end, so that the socket goes back to the pool. */
async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // nothing to keep
  }
}

/** Sends the client's own logs (which call every failed request an ERROR) to our logger at debug: the runtime reports retries. */
function clientLoggerClass(logger: Logger): new () => ClientLogger {
  return class implements ClientLogger {
    trace() {}
    debug() {}
    info(p: { message: string }) { logger.debug({ clickhouseClient: p.message }, 'clickhouse client'); }
    warn(p: { message: string; err?: Error }) { logger.debug({ clickhouseClient: p.message, err: p.err }, 'clickhouse client'); }
    error(p: { message: string; err: Error }) { logger.debug({ clickhouseClient: p.message, err: p.err }, 'clickhouse client'); }
  };
}

/**
 * Writes routed messages to ClickHouse: one INSERT (JSONEachRow, through @clickhouse/client) per table per batch, after
 * dropping the rows the table already holds (dedupe.ts). Writes of one sink run one at a time, so two batches carrying
 * the same message (e.g. from two endpoint topics) cannot both pass the check.
 */
export class ClickHouseSink implements SinkConnector {
  readonly client: ClickHouseClient;
  /**
   * For the dedupe look-up, whose keys go as a multipart/form-data body (dedupe.ts): never gzipped, because 18.16
   * parses a multipart body before it would inflate it ("No boundary line found").
   */
  private readonly keysClient: ClickHouseClient;
  private layouts: Map<TableName, Layout> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  serverVersion: string | undefined;

  constructor(private readonly config: ClickHouseConfig, private readonly deps: { logger: Logger; serde: AvroSerde }) {
    quoteIdentifier(config.database);
    const options = {
      url: config.url,
      ...(config.username !== undefined ? { username: config.username } : {}),
      ...(config.password !== undefined ? { password: config.password } : {}),
      request_timeout: config.requestTimeoutMs,
      log: { LoggerClass: clientLoggerClass(deps.logger) },
    };
    // gzip level 1: half the CPU of the default level 6 on these rows (~1.6 KB of JSON each), for a body 5.7% rather
    // than 5.0% of its size — on the hub's cores the CPU is what is short, not the bandwidth.
    const request = config.compression ? { codec: 'gzip' as const, level: 1 } : false;
    this.client = createClient({ ...options, compression: { request, response: config.compression } });
    this.keysClient = createClient({ ...options, compression: { request: false, response: false } });
  }

  /** Creates the database and tables; when ClickHouse is unreachable the hub still starts and the first write retries. */
  async connect(): Promise<void> {
    try {
      await this.ensureSchema();
    } catch (err) {
      if (err instanceof TributaryError && !err.retriable) throw err;
      this.deps.logger.warn({ err, url: this.config.url, reason: describeFailure(err) },
        'ClickHouse is not ready (unreachable, or refused the schema); tables will be created on the first write that succeeds, writes retry until then');
    }
  }

  writeBatch(batch: SinkBatch): Promise<void> {
    const run = this.tail.then(() => this.write(batch));
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.tail;
    await Promise.all([this.client.close(), this.keysClient.close()]);
  }

  /** The layout of each table, creating database and tables first if needed. */
  async ensureSchema(): Promise<Map<TableName, Layout>> {
    if (this.layouts) return this.layouts;
    const db = this.config.database;
    const version = await this.queryRows<{ v: string }>('SELECT version() AS v').then((rows) => rows[0]?.v ?? '0');
    const supported = layoutForVersion(version);
    const preferred = this.config.layout === 'auto' ? supported : this.config.layout;
    // A forced modern layout needs Map, which appeared (experimental) in 21.1; earlier servers would fail every CREATE.
    if (preferred === 'modern' && Number.parseInt(version, 10) < 21) {
      throw new TributaryError('ConfigInvalid', `ClickHouse ${version} has no Map type; set the ClickHouse connector's layout to auto or legacy`, { retriable: false });
    }
    await this.client.command({ query: createDatabaseSql(db) });
    for (const table of TABLE_NAMES) await this.client.command({ query: createTableSql(db, table, preferred) });
    const columns = await this.queryRows<{ table: string; name: string; type: string }>(
      `SELECT table, name, type FROM system.columns WHERE database = ${stringLiteral(db)}`);
    const layouts = new Map<TableName, Layout>();
    for (const table of TABLE_NAMES) {
      const types = new Map(columns.filter((c) => c.table === table).map((c) => [c.name, c.type] as const));
      const found = detectLayout(table, types);
      if ('problem' in found) {
        throw new TributaryError('ConfigInvalid', `ClickHouse table ${db}.${table} ${found.problem}; drop it (the connector re-creates it) or add the columns (docs/analytics.md)`, { retriable: false });
      }
      layouts.set(table, found.layout);
    }
    this.serverVersion = version;
    this.layouts = layouts;
    this.deps.logger.info({ version, database: db, layouts: Object.fromEntries(layouts) }, 'ClickHouse tables ready');
    return layouts;
  }

  private async queryRows<T>(query: string, settings: Record<string, string> = {}): Promise<T[]> {
    const result = await this.client.query({ query, format: 'JSONEachRow', clickhouse_settings: settings });
    return result.json<T>();
  }

  private async write(batch: SinkBatch): Promise<void> {
    const failed: { index: number; error: TributaryError }[] = [];
    let layouts: Map<TableName, Layout>;
    try {
      layouts = await this.ensureSchema();
    } catch (err) {
      throw this.retriable('cannot create the ClickHouse tables', err);
    }

    const byTable = new Map<TableName, Pending[]>();
    const seen = new Set<string>();
    const serde = this.deps.serde;
    // One record after the other, decoded synchronously once its schemas are known, and mapped to its row at once:
    // a promise per record (Promise.all over thousands) and the batch's decoded messages all alive together cost more
    // garbage collection than the decoding itself.
    for (let index = 0; index < batch.records.length; index++) {
      const record = batch.records[index]!;
      let message: RoutedMessage;
      try {
        message = decodeRoutedSync(serde, record) ?? await decodeRouted(serde, record);
      } catch (err) {
        const error = toTributaryError(err, 'SerializationFailed');
        // The schema registry is down: the whole batch is retried.
        if (error.retriable) throw new SinkError(`cannot decode records: ${error.message}`, { retriable: true, cause: error, code: error.code });
        failed.push({ index, error });
        continue;
      }
      const table = tableOf(message.source);
      try {
        const mapped = toRow(message, layouts.get(table) ?? 'legacy');
        const id = `${table}\u0000${keyId(mapped.key)}`;
        // The same message twice in one batch (a device retry, two routes to one endpoint) is written once.
        if (seen.has(id)) {
          rowsTotal.inc({ table, outcome: 'duplicate' });
          continue;
        }
        seen.add(id);
        const list = byTable.get(table) ?? [];
        list.push({ index, mapped });
        byTable.set(table, list);
      } catch (err) {
        failed.push({ index, error: toTributaryError(err, 'ArgumentInvalid') });
      }
    }

    const outcome: Record<string, { inserted: number; duplicates: number }> = {};
    for (const [table, pending] of byTable) {
      let fresh: Pending[];
      try {
        const existing = await this.existingKeys(table, pending.map((p) => p.mapped));
        fresh = pending.filter((p) => !existing.has(keyId(p.mapped.key)));
      } catch (err) {
        throw this.retriable(`cannot check ${table} for rows already written`, err);
      }
      try {
        const rejected = await this.insertIsolating(table, fresh);
        for (const r of rejected) failed.push({ index: r.index, error: new TributaryError('ArgumentInvalid', `ClickHouse rejected the row for ${table}: ${describeFailure(r.err)}`, { retriable: false }) });
        rowsTotal.inc({ table, outcome: 'inserted' }, fresh.length - rejected.length);
        rowsTotal.inc({ table, outcome: 'failed' }, rejected.length);
        rowsTotal.inc({ table, outcome: 'duplicate' }, pending.length - fresh.length);
        outcome[table] = { inserted: fresh.length - rejected.length, duplicates: pending.length - fresh.length };
      } catch (err) {
        throw this.retriable(`cannot insert into ${table}`, err);
      }
    }

    this.deps.logger.debug({ topic: batch.topic, partition: batch.partition, records: batch.records.length, tables: outcome, failed: failed.length }, 'batch written to ClickHouse');
    if (failed.length > 0) {
      const first = failed[0]!.error;
      throw new SinkError(`${failed.length} of ${batch.records.length} records cannot be written to ClickHouse; first: ${first.message}`, {
        retriable: false, failed: failed.map((f) => f.index).sort((a, b) => a - b), cause: first, code: first.code,
      });
    }
  }

  /** Keys of `rows` that the table already holds (within the batch's time span widened by the dedupe window). */
  private async existingKeys(table: TableName, rows: readonly MappedRow[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let start = 0; start < rows.length; start += KEYS_PER_QUERY) {
      const chunk = rows.slice(start, start + KEYS_PER_QUERY);
      let fromMs = Infinity;
      let toMs = -Infinity;
      for (const r of chunk) {
        if (r.timeMs < fromMs) fromMs = r.timeMs;
        if (r.timeMs > toMs) toMs = r.timeMs;
      }
      const sql = existingKeysSql(this.config.database, table, { fromMs, toMs, windowSeconds: this.config.dedupeWindowSeconds });
      const boundary = `tributary-keys-${randomUUID()}`;
      // The TSV body has no CR (tsvField escapes it), so the delimiter "\r\n--boundary" cannot occur inside it.
      const body = `--${boundary}\r\nContent-Disposition: form-data; name="${KEYS_TABLE}"; filename="${KEYS_TABLE}"\r\n`
        + `Content-Type: text/tab-separated-values\r\n\r\n${keysTsv(chunk.map((r) => r.key))}\r\n--${boundary}--\r\n`;
      const bytes = Buffer.from(body, 'utf8');
      const result = await this.keysClient.exec({
        query: sql,
        values: Readable.from([bytes]),
        // With a length rather than chunked: 18.16 leaves a chunked multipart body's last chunk unread and then closes
        // the connection, and the client's next request on that kept-alive socket fails with ECONNRESET.
        http_headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(bytes.length) },
        clickhouse_settings: { [`${KEYS_TABLE}_structure`]: KEYS_STRUCTURE, [`${KEYS_TABLE}_format`]: 'TabSeparated' },
      });
      const parts: Buffer[] = [];
      for await (const part of result.stream) parts.push(part as Buffer);
      for (const line of Buffer.concat(parts).toString('utf8').split('\n')) {
        if (line === '') continue;
        const r = JSON.parse(line) as { device_id: string; module_id: string; dedupe_id: string };
        found.add(keyId([r.device_id, r.module_id, r.dedupe_id] as RowKey));
      }
    }
    return found;
  }

  /**
   * One INSERT for all rows. When ClickHouse says the data is bad it does not say which row, so the rows are split in
   * halves until the bad ones stand alone (log2(n) extra inserts); the good ones are written, the bad ones returned.
   */
  async insertIsolating(table: TableName, rows: readonly Pending[]): Promise<{ index: number; err: unknown }[]> {
    if (rows.length === 0) return [];
    const layout = this.layouts?.get(table) ?? 'legacy';
    const endTimer = insertSeconds.startTimer({ table });
    const now = Date.now();
    for (const r of rows) r.mapped.row.inserted_at = now;
    const columns = insertColumns(table, layout).map((c) => `\`${c}\``).join(', ');
    // One JSON.stringify of the array, brackets cut off, costs half of one per row plus the line joins of
    // client.insert(): JSONEachRow reads rows separated by commas on every version (18.16 refuses the brackets).
    const body = JSON.stringify(rows.map((r) => r.mapped.row)).slice(1, -1);
    try {
      const result = await this.client.exec({
        query: `INSERT INTO ${qualifiedTable(this.config.database, table)} (${columns}) FORMAT JSONEachRow`,
        values: Readable.from([body]),
      });
      await drain(result.stream);
      endTimer();
      return [];
    } catch (err) {
      if (classifyFailure(err) !== 'data') throw err;
      if (rows.length === 1) return [{ index: rows[0]!.index, err }];
      const mid = Math.ceil(rows.length / 2);
      return [...await this.insertIsolating(table, rows.slice(0, mid)), ...await this.insertIsolating(table, rows.slice(mid))];
    }
  }

  private retriable(what: string, err: unknown): SinkError {
    if (err instanceof TributaryError && !(err instanceof SinkError)) {
      return new SinkError(`${what}: ${err.message}`, { retriable: true, cause: err, code: err.code === 'ConfigInvalid' ? 'SinkWriteFailed' : err.code });
    }
    // A table or database dropped under us: look again (and re-create) before the retry.
    if (classifyFailure(err) === 'schema') this.layouts = undefined;
    return new SinkError(`${what} at ${this.config.url}: ${describeFailure(err)}; retrying`, { retriable: true, cause: err, code: 'SinkWriteFailed' });
  }
}
