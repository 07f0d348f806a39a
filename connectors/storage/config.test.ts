import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TributaryError } from '../../core/errors/index.ts';
import { componentLogger } from '../../core/logging/logger.ts';
import { validateOptions } from '../../core/runtime/validate-options.ts';
import type { Log } from '../../core/log/types.ts';
import type { AvroSerde } from '../../core/serde/index.ts';
import { StorageConfigSchema, extensionOf } from './config.ts';
import { storageConnector } from './index.ts';

const validate = (input: unknown) => validateOptions('connector storage', StorageConfigSchema, input);
const deps = { logger: componentLogger('test'), serde: undefined as unknown as AvroSerde, log: undefined as unknown as Log };
const isConfigInvalid = (pattern: RegExp) => (err: unknown) => err instanceof TributaryError && err.code === 'ConfigInvalid' && pattern.test(err.message);

describe('storage connector configuration', () => {
  it('defaults to IoT Hub\'s: Avro, the standard file name format, a local directory', () => {
    const config = validate({});
    assert.equal(config.encoding, 'avro');
    assert.equal(config.fileNameFormat, '{iothub}/{partition}/{YYYY}/{MM}/{DD}/{HH}/{mm}');
    assert.equal(config.target, 'local');
    assert.equal(extensionOf(config), '.avro');
    assert.equal(extensionOf({ encoding: 'json', extension: undefined }), '.json');
    assert.equal(extensionOf({ encoding: 'json', extension: '' }), '');
  });

  it('IoT Hub\'s batch frequency and file size become the runtime\'s batch limits', () => {
    const limits = typeof storageConnector.batching === 'function' ? storageConnector.batching(validate({})) : undefined;
    assert.deepEqual(limits, { maxBatchWaitMs: 300_000, maxBatchRecords: 10_000, maxBatchBytes: 8 * 1024 * 1024 });
    const custom = typeof storageConnector.batching === 'function' ? storageConnector.batching(validate({ batchFrequencyInSeconds: 60, maxRecordsPerFile: 500, maxFileBytes: 2048 })) : undefined;
    assert.deepEqual(custom, { maxBatchWaitMs: 60_000, maxBatchRecords: 500, maxBatchBytes: 1024 });
  });

  it('reports bad settings by path', () => {
    assert.throws(() => validate({ encoding: 'parquet', maxFileBytes: 10, s3: { bucket: 'Bad_Bucket' } }), (err: unknown) => {
      assert.ok(err instanceof TributaryError && err.code === 'ConfigInvalid');
      for (const path of ['encoding', 'maxFileBytes', 's3.bucket']) assert.match(err.message, new RegExp(`\\b${path.replace('.', '\\.')}: `));
      return true;
    });
  });

  it('refuses at create: target s3 without its section, half a key pair, a format lacking tokens', async () => {
    const create = async (input: unknown) => storageConnector.create(validate(input), deps);
    await assert.rejects(create({ target: 's3' }), isConfigInvalid(/`s3` section/));
    await assert.rejects(create({ target: 's3', s3: { bucket: 'b-1', accessKeyId: 'k' } }), isConfigInvalid(/go together/));
    await assert.rejects(create({ fileNameFormat: '{iothub}/{YYYY}/{MM}/{DD}' }), isConfigInvalid(/lacks \{partition\}, \{HH\}, \{mm\}/));
  });
});
