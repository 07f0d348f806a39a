/**
 * The storage connector against real file systems and a real S3-compatible server (s3rver, in-process on an ephemeral
 * port): names, contents, atomic replacement, idempotent redelivery, dead letters, outages, and the whole path through
 * the connector runtime on the embedded log.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { TributaryError } from '../../core/errors/index.ts';
import { componentLogger } from '../../core/logging/logger.ts';
import type { LogRecord } from '../../core/log/types.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { eventually, uniqueName } from '../../test/support/services.ts';
import { validateOptions } from '../../core/runtime/validate-options.ts';
import { SinkError } from '../runtime/define-connector.ts';
import { runConnector } from '../runtime/run-connector.ts';
import { StorageConfigSchema, type StorageConfig } from './config.ts';
import { storageConnector } from './index.ts';
import { StorageSink } from './storage.ts';
import { BASE_TIME, deviceMessage, listFiles, readAvro, routedRange, routedRecord } from './test-records.ts';

const logger = componentLogger('test', { connector: 'storage' });
const BUCKET = 'tributary-files';
let platform: EmbeddedPlatform;
let scratch: string;
let s3: S3rver;
let s3Endpoint: string;

before(async () => {
  platform = await openEmbeddedPlatform();
  scratch = await mkdtemp(join(tmpdir(), 'tributary-storage-'));
  s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(scratch, 's3rver'), configureBuckets: [{ name: BUCKET }] });
  s3Endpoint = `http://127.0.0.1:${(await s3.run()).port}`;
});
after(async () => {
  await s3.close();
  await platform.close();
  await rm(scratch, { recursive: true, force: true });
});

function sink(config: Record<string, unknown>): Promise<StorageSink> {
  return StorageSink.create(validateOptions('storage', StorageConfigSchema, config) as StorageConfig, { logger, serde: platform.serde });
}

/** The messages' `i` (body `{"i":…}`) of every line of every JSON-lines file under `dir`. */
async function jsonMessages(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const file of await listFiles(dir)) {
    for (const line of (await readFile(join(dir, file), 'utf8')).split('\n').filter(Boolean)) out.push((JSON.parse(line) as { Body: { i: number } }).Body.i);
  }
  return out.sort((a, b) => a - b);
}

const pad = (offset: number) => String(offset).padStart(20, '0');
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

describe('storage connector, local directory', () => {
  it('a batch becomes JSON-lines files under IoT Hub names, split at multiples of maxRecordsPerFile', async () => {
    const dir = join(scratch, uniqueName('json'));
    const s = await sink({ directory: dir, hubName: 'hub-x', encoding: 'json', maxRecordsPerFile: 4 });
    await s.connect();
    await s.writeBatch({ topic: 'iot.route.archive', partition: 2, records: await routedRange(platform.serde, 'iot.route.archive', 2, 0, 10) });
    // Message i is enqueued at BASE_TIME + i ms: 2026-01-02 03:04 UTC for all of them.
    assert.deepEqual(await listFiles(dir), [0, 4, 8].map((o) => join('hub-x', '2', '2026', '01', '02', '03', `04-archive-${pad(o)}.json`)));
    const lines = (await readFile(join(dir, 'hub-x/2/2026/01/02/03', `04-archive-${pad(4)}.json`), 'utf8')).split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a newline');
    assert.equal(lines.length, 4);
    const first = JSON.parse(lines[0]!) as Record<string, Record<string, string> | string>;
    assert.equal(first.EnqueuedTimeUtc, '2026-01-02T03:04:05.6820000Z');
    assert.deepEqual(first.Properties, { seq: '4', site: 'plant-7' });
    assert.deepEqual(first.Body, { i: 4 });
    const system = first.SystemProperties as Record<string, string>;
    assert.equal(system.messageId, 'm-4');
    assert.equal(system.connectionDeviceId, 'dev-1');
    assert.equal(system.contentType, 'application/json');
    assert.equal(system.enqueuedTime, '2026-01-02T03:04:05.6820000Z');
    assert.deepEqual(await jsonMessages(dir), range(0, 10));
  });

  it('avrodeflate files decode back with avsc, every message once, in offset order', async () => {
    const dir = join(scratch, uniqueName('avro'));
    const s = await sink({ directory: dir, encoding: 'avrodeflate', maxRecordsPerFile: 100 });
    await s.writeBatch({ topic: 'iot.route.archive', partition: 0, records: await routedRange(platform.serde, 'iot.route.archive', 0, 95, 130) });
    const files = await listFiles(dir);
    assert.deepEqual(files, [95, 100].map((o) => join('tributary', '0', '2026', '01', '02', '03', `04-archive-${pad(o)}.avro`)));
    const decoded = (await Promise.all(files.map(async (f) => readAvro(await readFile(join(dir, f)))))).flat();
    assert.deepEqual(decoded.map((r) => JSON.parse((r.Body as Buffer).toString()).i), range(95, 130));
    assert.deepEqual(decoded.map((r) => (r.SystemProperties as Record<string, string>).messageId), range(95, 130).map((i) => `m-${i}`));
  });

  for (const encoding of ['avro', 'avrodeflate', 'json'] as const) {
    it(`${encoding}: no file exceeds maxFileBytes; a batch larger than that is split, nothing dropped`, async () => {
      const dir = join(scratch, uniqueName(`bound-${encoding}`));
      const maxFileBytes = 4096;
      const s = await sink({ directory: dir, encoding, maxFileBytes });
      const padding = 'x'.repeat(200);
      const records = await Promise.all(range(0, 60).map((i) => routedRecord(platform.serde, 'iot.route.archive', 0, i, deviceMessage(i, { body: Buffer.from(JSON.stringify({ i, padding })) }))));
      await s.writeBatch({ topic: 'iot.route.archive', partition: 0, records });
      const files = await listFiles(dir);
      const bodies = await Promise.all(files.map((f) => readFile(join(dir, f))));
      assert.ok(files.length >= 4, `${files.length} files for ~${60 * 600} bytes`);
      for (const [k, body] of bodies.entries()) assert.ok(body.length <= maxFileBytes, `${files[k]} has ${body.length} bytes`);
      const ids = encoding === 'json'
        ? bodies.flatMap((b) => b.toString().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { Body: { i: number } }).Body.i))
        : (await Promise.all(bodies.map(readAvro))).flat().map((r) => (JSON.parse((r.Body as Buffer).toString()) as { i: number }).i);
      assert.deepEqual(ids.sort((a, b) => a - b), range(0, 60));
    });
  }

  it('the same batch written twice leaves the same files with the same bytes, and no temporary files', async () => {
    const dir = join(scratch, uniqueName('twice'));
    const s = await sink({ directory: dir, encoding: 'avro', maxRecordsPerFile: 8 });
    const records = await routedRange(platform.serde, 'iot.route.archive', 1, 3, 20);
    await s.writeBatch({ topic: 'iot.route.archive', partition: 1, records });
    const files = await listFiles(dir);
    const before = await Promise.all(files.map((f) => readFile(join(dir, f))));
    await s.writeBatch({ topic: 'iot.route.archive', partition: 1, records });
    assert.deepEqual(await listFiles(dir), files, 'no new names, no .tmp leftovers');
    assert.deepEqual(await Promise.all(files.map((f) => readFile(join(dir, f)))), before);
  });

  it('a redelivery with other batch boundaries still leaves every message exactly once (count bound)', async () => {
    const dir = join(scratch, uniqueName('redelivery'));
    const s = await sink({ directory: dir, encoding: 'json', maxRecordsPerFile: 4 });
    const all = await routedRange(platform.serde, 'iot.route.archive', 0, 0, 10);
    // First attempt wrote 0..9 and crashed before the commit; the runtime then hands 0..5 and 6..9.
    await s.writeBatch({ topic: 'iot.route.archive', partition: 0, records: all });
    await s.writeBatch({ topic: 'iot.route.archive', partition: 0, records: all.slice(0, 6) });
    await s.writeBatch({ topic: 'iot.route.archive', partition: 0, records: all.slice(6) });
    assert.deepEqual(await jsonMessages(dir), range(0, 10));
  });

  it('an undecodable record is reported for the dead-letter topic; the rest are written', async () => {
    const dir = join(scratch, uniqueName('poison'));
    const s = await sink({ directory: dir, encoding: 'json' });
    const records = await routedRange(platform.serde, 'iot.route.archive', 0, 0, 5);
    const poison: LogRecord = { ...records[2]!, value: Buffer.from('not avro') };
    const batch = [...records.slice(0, 2), poison, ...records.slice(3)];
    await assert.rejects(s.writeBatch({ topic: 'iot.route.archive', partition: 0, records: batch }), (err: unknown) => {
      assert.ok(err instanceof SinkError);
      assert.equal(err.retriable, false);
      assert.deepEqual(err.failed, [2]);
      return true;
    });
    assert.deepEqual(await jsonMessages(dir), [0, 1, 3, 4]);
  });

  it('a write the file system refuses is a retriable SinkError and leaves nothing behind', async () => {
    const dir = join(scratch, uniqueName('blocked'));
    // A regular file where the partition directory must go: mkdir fails with ENOTDIR/EEXIST.
    await mkdir(join(dir, 'tributary'), { recursive: true });
    await writeFile(join(dir, 'tributary', '0'), 'in the way');
    const s = await sink({ directory: dir, encoding: 'json' });
    await assert.rejects(s.writeBatch({ topic: 'iot.route.archive', partition: 0, records: await routedRange(platform.serde, 'iot.route.archive', 0, 0, 3) }),
      (err: unknown) => err instanceof SinkError && err.retriable && err.code === 'SinkWriteFailed');
    assert.deepEqual(await listFiles(dir), [join('tributary', '0')]);
  });

  it('through the connector runtime on the embedded log: every routed message lands once and the offsets are committed', async () => {
    const dir = join(scratch, uniqueName('runtime'));
    const topic = `iot.route.${uniqueName('files')}`;
    await platform.log.createTopics([{ name: topic, partitions: 2 }]);
    const records = await Promise.all(range(0, 30).map((i) => routedRecord(platform.serde, topic, 0, i, deviceMessage(i))));
    await platform.log.produce(topic, records.map((r) => ({ key: r.key, value: r.value })));
    const running = await runConnector(storageConnector, {
      log: platform.log, serde: platform.serde, topics: [topic], groupId: uniqueName('storage'),
      config: { directory: dir, encoding: 'json', maxRecordsPerFile: 7, batchFrequencyInSeconds: 0 },
    });
    try {
      await eventually('30 records committed', async () => {
        const committed = await platform.log.committedOffsets(running.groupId, topic);
        return committed.reduce((n, c) => n + c.offset, 0) === 30 ? true : undefined;
      });
    } finally {
      await running.stop();
    }
    assert.deepEqual(await jsonMessages(dir), range(0, 30));
    const endpoint = topic.slice('iot.route.'.length);
    assert.ok((await listFiles(dir)).every((f) => new RegExp(`^tributary/[01]/2026/01/02/03/04-${endpoint}-\\d{20}\\.json$`).test(f)));
  });
});

describe('storage connector, S3-compatible store (s3rver)', () => {
  const s3Config = (extra: Record<string, unknown> = {}) => ({
    target: 's3',
    s3: { bucket: BUCKET, endpoint: s3Endpoint, forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', ...extra },
  });
  const client = () => new S3Client({ endpoint: s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });

  async function objects(prefix: string): Promise<{ key: string; etag: string; body: Buffer; contentType: string | undefined }[]> {
    const c = client();
    try {
      const listed = await c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
      return await Promise.all((listed.Contents ?? []).map(async (o) => {
        const got = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: o.Key! }));
        return { key: o.Key!, etag: o.ETag!, body: Buffer.from(await got.Body!.transformToByteArray()), contentType: got.ContentType };
      }));
    } finally {
      c.destroy();
    }
  }

  it('writes Avro objects under IoT Hub names; the same batch twice leaves one identical object per file', async () => {
    const hub = uniqueName('hub').slice(0, 40);
    const s = await sink({ ...s3Config(), hubName: hub, maxRecordsPerFile: 5 });
    await s.connect();
    try {
      const records = await routedRange(platform.serde, 'iot.route.lake', 3, 8, 16);
      await s.writeBatch({ topic: 'iot.route.lake', partition: 3, records });
      const first = await objects(`${hub}/`);
      assert.deepEqual(first.map((o) => o.key).sort(), [8, 10, 15].map((o) => `${hub}/3/2026/01/02/03/04-lake-${pad(o)}.avro`));
      assert.ok(first.every((o) => o.contentType === 'application/avro'));
      const decoded = (await Promise.all(first.sort((a, b) => (a.key < b.key ? -1 : 1)).map((o) => readAvro(o.body)))).flat();
      assert.deepEqual(decoded.map((r) => JSON.parse((r.Body as Buffer).toString()).i), range(8, 16));
      assert.deepEqual(decoded.map((r) => r.EnqueuedTimeUtc), range(8, 16).map((i) => new Date(BASE_TIME + i).toISOString().replace('Z', '0000Z')));

      await s.writeBatch({ topic: 'iot.route.lake', partition: 3, records });
      const second = await objects(`${hub}/`);
      assert.deepEqual(second.map((o) => [o.key, o.etag]).sort(), first.map((o) => [o.key, o.etag]).sort());
      assert.deepEqual(second.sort((a, b) => (a.key < b.key ? -1 : 1)).map((o) => o.body), first.map((o) => o.body));
    } finally {
      await s.close();
    }
  });

  it('JSON lines to S3 carry the message bodies as JSON', async () => {
    const hub = uniqueName('hubj').slice(0, 40);
    const s = await sink({ ...s3Config(), hubName: hub, encoding: 'json' });
    try {
      await s.writeBatch({ topic: 'iot.route.lake', partition: 0, records: await routedRange(platform.serde, 'iot.route.lake', 0, 0, 3) });
      const [only, ...rest] = await objects(`${hub}/`);
      assert.equal(rest.length, 0);
      assert.equal(only!.key, `${hub}/0/2026/01/02/03/04-lake-${pad(0)}.json`);
      assert.deepEqual(only!.body.toString().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { Body: unknown }).Body), [{ i: 0 }, { i: 1 }, { i: 2 }]);
    } finally {
      await s.close();
    }
  });

  it('an unreachable store fails the batch retriably (the runtime backs off; nothing is dead-lettered)', async () => {
    const s = await sink({ target: 's3', s3: { bucket: BUCKET, endpoint: 'http://127.0.0.1:9', forcePathStyle: true, accessKeyId: 'a', secretAccessKey: 'b', maxAttempts: 1, requestTimeoutMs: 2000 } });
    await s.connect(); // logs a warning, does not fail start-up
    try {
      await assert.rejects(s.writeBatch({ topic: 'iot.route.lake', partition: 0, records: await routedRange(platform.serde, 'iot.route.lake', 0, 0, 2) }), (err: unknown) => {
        assert.ok(err instanceof SinkError, String(err));
        assert.equal(err.retriable, true);
        assert.equal(err.code, 'SinkWriteFailed');
        assert.equal(err.failed, undefined);
        return true;
      });
    } finally {
      await s.close();
    }
  });

  it('a bucket that does not exist fails start-up with ConfigInvalid', async () => {
    const s = await sink(s3Config({ bucket: 'no-such-bucket-here' }));
    try {
      await assert.rejects(s.connect(), (err: unknown) => err instanceof TributaryError && err.code === 'ConfigInvalid' && /does not exist/.test(err.message));
    } finally {
      await s.close();
    }
  });
});
