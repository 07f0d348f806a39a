/**
 * storage — IoT Hub's storage endpoint role: routed messages written as files (Avro object container files or JSON
 * lines, IoT Hub's record shape) named by IoT Hub's `{iothub}/{partition}/{YYYY}/{MM}/{DD}/{HH}/{mm}` format, to a
 * local directory or an S3-compatible bucket. See docs/connectors/storage.md.
 *
 * One batch gives one or more files (split-files.ts), each written whole (local: temp file, fsync, rename; S3: one
 * PutObject) and named only from its content — endpoint, partition, first offset, first message's enqueued time — so
 * writing a batch again replaces its files with identical ones. `writeBatch` resolves after every file is durable;
 * only then does the runtime commit.
 */
import { toTributaryError, type TributaryError } from '../../core/errors/index.ts';
import type { Logger } from '../../core/logging/logger.ts';
import { counter } from '../../core/metrics/registry.ts';
import type { AvroSerde } from '../../core/serde/index.ts';
import { SinkError, type SinkBatch, type SinkConnector } from '../runtime/define-connector.ts';
import { decodeRouted } from '../runtime/routed-message.ts';
import { extensionOf, s3SettingsOf, type StorageConfig } from './config.ts';
import { encodingFor, type EncodedMessage, type Encoding } from './encoding.ts';
import { compileFileName, endpointOfTopic, type FileNamer } from './file-name.ts';
import { LocalTarget } from './local-target.ts';
import { splitIntoFiles } from './split-files.ts';
import type { FileTarget } from './target.ts';

const filesTotal = counter('tributary_storage_files_total', 'Files (objects) written by the storage connector, by target.', ['target']);
const bytesTotal = counter('tributary_storage_written_bytes_total', 'Bytes of files written by the storage connector, by target.', ['target']);

interface Failure {
  index: number;
  error: TributaryError;
}

interface Prepared extends EncodedMessage {
  readonly time: number;
}

export class StorageSink implements SinkConnector {
  private readonly encoding: Encoding;
  private readonly name: FileNamer;

  constructor(
    private readonly config: StorageConfig,
    private readonly deps: { logger: Logger; serde: AvroSerde },
    private readonly target: FileTarget,
  ) {
    this.encoding = encodingFor(config);
    this.name = compileFileName(config.fileNameFormat, extensionOf(config));
  }

  /** Validates what the schema cannot and builds the target; the AWS SDK is loaded only for target s3. */
  static async create(config: StorageConfig, deps: { logger: Logger; serde: AvroSerde }): Promise<StorageSink> {
    let target: FileTarget;
    if (config.target === 's3') {
      const settings = s3SettingsOf(config);
      const { S3Target } = await import('./s3-target.ts');
      target = new S3Target(settings, deps.logger);
    } else {
      target = new LocalTarget(config.directory);
    }
    return new StorageSink(config, deps, target);
  }

  async connect(): Promise<void> {
    await this.target.connect();
    this.deps.logger.info({ target: this.target.describe(), encoding: this.config.encoding }, 'storage connector ready');
  }

  async close(): Promise<void> {
    await this.target.close();
  }

  async writeBatch(batch: SinkBatch): Promise<void> {
    const failures: Failure[] = [];
    const prepared: Prepared[] = [];
    for (const [index, record] of batch.records.entries()) {
      try {
        const message = await decodeRouted(this.deps.serde, record);
        prepared.push({ ...this.encoding.prepare(message, { offset: record.offset, index }), time: message.enqueuedTime });
      } catch (err) {
        const error = toTributaryError(err, 'SerializationFailed');
        // A schema registry that is down is an outage, not a bad record: the whole batch waits for it.
        if (error.retriable) throw new SinkError(`cannot decode ${batch.topic}/${batch.partition}@${record.offset}: ${error.message}`, { retriable: true, cause: err });
        failures.push({ index, error });
      }
    }

    const kind = this.config.target;
    const files = splitIntoFiles(prepared, { maxRecords: this.config.maxRecordsPerFile, maxBytes: this.config.maxFileBytes, overheadBytes: this.encoding.overheadBytes(this.config.maxFileBytes) });
    for (const messages of files) {
      const first = messages[0]!;
      const name = this.name({ hub: this.config.hubName, partition: batch.partition, time: first.time, endpoint: endpointOfTopic(batch.topic), firstOffset: first.offset });
      const body = await this.encoding.encode(messages, name);
      try {
        await this.target.put(name, body, this.encoding.contentType);
      } catch (err) {
        if (err instanceof SinkError && !err.retriable) {
          // The store refused this file for good: its messages are dead-lettered, the other files stand.
          for (const m of messages) failures.push({ index: m.index, error: err });
          continue;
        }
        throw err;
      }
      filesTotal.inc({ target: kind });
      bytesTotal.inc({ target: kind }, body.length);
      this.deps.logger.debug({ file: name, messages: messages.length, bytes: body.length }, 'file written');
    }

    if (failures.length > 0) {
      const first = failures[0]!.error;
      throw new SinkError(`${failures.length} of ${batch.records.length} records not stored: ${first.message}`, {
        retriable: false,
        failed: [...new Set(failures.map((f) => f.index))].sort((a, b) => a - b),
        code: first.code,
        cause: first,
      });
    }
  }
}
