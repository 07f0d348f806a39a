/**
 * The storage connector (IoT Hub's storage endpoint role): routed messages as Avro or JSON-lines files in a local
 * directory or an S3-compatible bucket. docs/connectors/storage.md has the guarantees and every setting.
 */
import { defineConnector } from '../runtime/define-connector.ts';
import { StorageConfigSchema } from './config.ts';
import { StorageSink } from './storage.ts';

export const storageConnector = defineConnector({
  name: 'storage',
  description: 'Writes routed messages as files (Avro or JSON lines, IoT Hub\'s record shape and file naming) to a local directory or an S3-compatible bucket (the storage endpoint role).',
  configSchema: StorageConfigSchema,
  // IoT Hub closes a blob every batchFrequencyInSeconds or at maxChunkSizeInBytes; the runtime's batches do the same.
  // It counts the bytes of the routed records, which grow by about 1.3× as IoT Hub Avro records and up to 2× as JSON
  // lines: half a file's bytes per batch keeps a batch to one file, so the size cut (split-files.ts rule 3) stays rare.
  batching: (config) => ({
    maxBatchWaitMs: config.batchFrequencyInSeconds * 1000,
    maxBatchRecords: config.maxRecordsPerFile,
    maxBatchBytes: Math.floor(config.maxFileBytes / 2),
  }),
  create: (config, deps) => StorageSink.create(config, deps),
});

export { StorageConfigSchema, type StorageConfig } from './config.ts';
export { StorageSink } from './storage.ts';
