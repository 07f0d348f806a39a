/**
 * Objects in an S3-compatible bucket. One file is one PutObject: S3 makes an object visible only once the whole
 * upload succeeded, and a PUT of an existing key replaces it atomically, so a file is complete or absent by the
 * store's own guarantee (docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel). Content-MD5 lets
 * the store reject bytes damaged in transit (BadDigest) instead of keeping them.
 *
 * The SDK's newer flexible checksums are sent only when an operation requires them: several S3-compatible stores
 * reject the x-amz-checksum-* headers, and Content-MD5 already covers integrity everywhere.
 */
import { createHash } from 'node:crypto';
import { HeadBucketCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { TributaryError } from '../../core/errors/index.ts';
import type { Logger } from '../../core/logging/logger.ts';
import { SinkError } from '../runtime/define-connector.ts';
import type { S3Config } from './config.ts';
import type { FileTarget } from './target.ts';

/** Errors that concern the object itself, not the store's availability: retrying the same bytes can never succeed. */
const REFUSED_OBJECT = new Set(['EntityTooLarge', 'KeyTooLongError']);

export class S3Target implements FileTarget {
  private readonly client: S3Client;

  constructor(
    private readonly config: S3Config,
    private readonly logger: Logger,
  ) {
    this.client = new S3Client({
      region: config.region,
      ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
      forcePathStyle: config.forcePathStyle,
      maxAttempts: config.maxAttempts,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: Math.min(config.requestTimeoutMs, 10_000), requestTimeout: config.requestTimeoutMs },
      ...(config.accessKeyId !== undefined && config.secretAccessKey !== undefined
        ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, ...(config.sessionToken !== undefined ? { sessionToken: config.sessionToken } : {}) } }
        : {}),
    });
  }

  describe(): string {
    return `bucket ${this.config.bucket} at ${this.config.endpoint ?? `AWS S3 ${this.config.region}`}`;
  }

  async connect(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.config.bucket }));
    } catch (err) {
      // A missing bucket is a configuration error; anything else (store down, or credentials allowed to PutObject but
      // not to HeadBucket) is left to the first batch, which retries until the store takes it.
      if (statusOf(err) === 404) throw new TributaryError('ConfigInvalid', `connector storage: ${this.describe()} does not exist; create it (the connector does not) or fix s3.bucket`, { cause: err });
      this.logger.warn({ err, target: this.describe() }, 'cannot check the bucket at start; batches retry until it answers');
    }
  }

  async put(name: string, body: Buffer, contentType: string): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({
        Bucket: this.config.bucket,
        Key: name,
        Body: body,
        ContentType: contentType,
        ContentLength: body.length,
        ContentMD5: createHash('md5').update(body).digest('base64'),
      }));
    } catch (err) {
      const code = err instanceof S3ServiceException ? err.name : undefined;
      if (code !== undefined && REFUSED_OBJECT.has(code)) {
        throw new SinkError(`${this.describe()} refused ${name} (${code}): ${errorText(err)}; lower maxFileBytes or shorten fileNameFormat, then replay the dead letters`, {
          retriable: false, code: 'SinkRecordRejected', cause: err,
        });
      }
      const status = statusOf(err);
      const hint = status === 403 ? 'check the credentials and the bucket policy'
        : status === 404 ? 'the bucket is gone; create it'
        : 'the store is unreachable or failing';
      throw new SinkError(`cannot put ${name} to ${this.describe()}: ${errorText(err)} (${hint}); the batch is retried`, { retriable: true, cause: err });
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name || (err as { code?: string }).code || 'error';
  return String(err);
}
