import { Type, type Static } from '@sinclair/typebox';
import { TributaryError } from '../../core/errors/index.ts';

/**
 * IoT Hub's storage endpoint settings (RoutingStorageContainerProperties: encoding, fileNameFormat,
 * batchFrequencyInSeconds, maxChunkSizeInBytes) plus where the container lives: a local directory or an S3-compatible
 * bucket. The batch frequency and size become the connector runtime's batch limits (index.ts), and one batch gives
 * one file, or several when it exceeds a file's limits.
 */
export const DEFAULT_FILE_NAME_FORMAT = '{iothub}/{partition}/{YYYY}/{MM}/{DD}/{HH}/{mm}';

const S3Schema = Type.Object(
  {
    bucket: Type.String({
      // S3's bucket naming rules (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html), loosely.
      pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
      description: 'Bucket the files go to (IoT Hub\'s container). It must exist: the connector does not create it.',
    }),
    endpoint: Type.Optional(Type.String({
      pattern: '^https?://',
      description: 'Endpoint of an S3-compatible store (MinIO, Ceph RGW, SeaweedFS, …), e.g. `http://minio:9000`. Absent: AWS S3 of `region`.',
    })),
    region: Type.String({ minLength: 1, default: 'us-east-1', description: 'Region to sign requests for; most S3-compatible stores accept any.' }),
    forcePathStyle: Type.Boolean({
      default: false,
      description: 'Address the bucket as `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint>/<key>`; most self-hosted stores need true.',
    }),
    accessKeyId: Type.Optional(Type.String({ minLength: 1, description: 'Access key id. Absent: the AWS SDK\'s default chain (AWS_ACCESS_KEY_ID, profiles, instance roles).' })),
    secretAccessKey: Type.Optional(Type.String({ minLength: 1, description: 'Secret of `accessKeyId`; never logged.' })),
    sessionToken: Type.Optional(Type.String({ minLength: 1, description: 'Session token for temporary credentials.' })),
    requestTimeoutMs: Type.Integer({
      minimum: 1000,
      default: 30_000,
      description: 'How long one PutObject may take before it counts as failed (an unreachable or stalled store); the batch is then retried.',
    }),
    maxAttempts: Type.Integer({
      minimum: 1,
      maximum: 10,
      default: 3,
      description: 'Attempts of the AWS SDK per request before the batch fails retriably and the connector runtime backs off.',
    }),
  },
  { additionalProperties: false, description: 'The bucket and how to reach it, for target `s3`.' },
);

export const StorageConfigSchema = Type.Object(
  {
    hubName: Type.String({
      pattern: '^[A-Za-z0-9-]{3,50}$',
      default: 'tributary',
      description: 'Replaces `{iothub}` in file names; the hub passes its own `hubName`.',
    }),
    encoding: Type.Union([Type.Literal('avro'), Type.Literal('avrodeflate'), Type.Literal('json')], {
      default: 'avro',
      description: 'As IoT Hub\'s: `avro` (Avro object container files), `avrodeflate` (the same, deflate-compressed blocks) or ' +
        '`json` (JSON lines, one message per line).',
    }),
    fileNameFormat: Type.String({
      minLength: 1,
      maxLength: 512,
      default: DEFAULT_FILE_NAME_FORMAT,
      description: 'File name pattern. As in IoT Hub, every one of `{iothub}`, `{partition}`, `{YYYY}`, `{MM}`, `{DD}`, `{HH}`, ' +
        '`{mm}` must appear, in any order; other text may be letters, digits and `/ . _ - =`. The connector appends ' +
        '`-<endpoint>-<first offset>` and `extension` so each batch has its own, deterministic name.',
    }),
    extension: Type.Optional(Type.String({
      pattern: '^(\\.[A-Za-z0-9_-]+)*$',
      maxLength: 32,
      description: 'Appended to every file name, e.g. `.avro`. Absent: `.avro` for the Avro encodings, `.json` for json. ' +
        '`""`: none, as IoT Hub names its blobs.',
    })),
    batchFrequencyInSeconds: Type.Integer({
      minimum: 0,
      maximum: 720,
      default: 300,
      description: 'As IoT Hub\'s: how long messages are collected before they are written, unless a file\'s worth ' +
        '(maxRecordsPerFile, maxFileBytes) came first. IoT Hub allows 60–720; 0 writes whatever each poll of the log returned.',
    }),
    maxRecordsPerFile: Type.Integer({
      minimum: 1,
      default: 10_000,
      description: 'Messages per file at most. Besides at the start of a batch, files start only at endpoint-topic offsets that are ' +
        'multiples of this, so a batch redelivered with other boundaries rewrites the same files (docs/connectors/storage.md).',
    }),
    maxFileBytes: Type.Integer({
      minimum: 1024,
      maximum: 524_288_000,
      default: 16_777_216,
      description: 'Bytes per file at most (IoT Hub\'s maxChunkSizeInBytes, 10–500 MB there, 300 MB by default), counted before ' +
        'avrodeflate compression. A partition buffers up to half of this while a batch fills. A batch is split into as ' +
        'many files as needed; one message larger than this gets a file of its own.',
    }),
    target: Type.Union([Type.Literal('local'), Type.Literal('s3')], {
      default: 'local',
      description: '`local`: files under `directory`. `s3`: objects in an S3-compatible bucket, settings under `s3`.',
    }),
    directory: Type.String({
      minLength: 1,
      default: './.tributary/storage',
      description: 'Root directory of the files with target `local` (the hub passes `<dataDir>/storage`); created if missing.',
    }),
    s3: Type.Optional(S3Schema),
  },
  { additionalProperties: false },
);

export type StorageConfig = Static<typeof StorageConfigSchema>;
export type S3Config = Static<typeof S3Schema>;

/** The Avro encodings write `.avro` files, json writes `.json` (JSON lines), unless `extension` says otherwise. */
export function extensionOf(config: Pick<StorageConfig, 'encoding' | 'extension'>): string {
  return config.extension ?? (config.encoding === 'json' ? '.json' : '.avro');
}

/** Cross-field checks the schema cannot express. */
export function s3SettingsOf(config: StorageConfig): S3Config {
  if (!config.s3) throw new TributaryError('ConfigInvalid', 'connector storage: target is s3 but the `s3` section (bucket, endpoint, …) is missing; add it or set target: local');
  if ((config.s3.accessKeyId === undefined) !== (config.s3.secretAccessKey === undefined)) {
    throw new TributaryError('ConfigInvalid', 'connector storage: s3.accessKeyId and s3.secretAccessKey go together; set both, or neither to use the AWS SDK\'s default credentials');
  }
  return config.s3;
}
