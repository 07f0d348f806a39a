/**
 * The storage endpoint through the whole hub: telemetry sent with the official device SDK over MQTT is enriched,
 * routed by a route added through the service API, and written by the storage connector the endpoint supervisor
 * starts — to the hub's data directory (JSON lines) and to an S3-compatible bucket (Avro, s3rver in-process) — with
 * IoT Hub's record fields intact. Binds 443 (the service SDK's fixed port): run under the 443 lock.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import iothub from 'azure-iothub';
import device from 'azure-iot-device';
import deviceMqtt from 'azure-iot-device-mqtt';
import S3rver from 's3rver';
import { ServiceClient } from '../../cli/service-client.ts';
import { eventually, uniqueName } from '../../test/support/services.ts';
import { startTestHub, type TestHub } from '../../test/support/test-hub.ts';
import { listFiles, readAvro } from './test-records.ts';

const BUCKET = 'e2e-files';
let testHub: TestHub;
let scratch: string;
let s3: S3rver;
let s3Endpoint: string;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tributary-storage-e2e-'));
  s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: scratch, configureBuckets: [{ name: BUCKET }] });
  s3Endpoint = `http://127.0.0.1:${(await s3.run()).port}`;
  testHub = await startTestHub();
});
after(async () => {
  await testHub?.close();
  await s3?.close();
  await rm(scratch, { recursive: true, force: true });
});

test('SDK telemetry routed to storage endpoints lands in files and in a bucket with IoT Hub\'s fields', async () => {
  const { hub } = testHub;
  const api = await ServiceClient.forConfig(hub.config);
  const local = uniqueName('files').replaceAll('-', '_');
  const bucket = uniqueName('lake').replaceAll('-', '_');
  await api.call('PUT', `/endpoints/${local}`, { type: 'storage', settings: { encoding: 'json', batchFrequencyInSeconds: 0 } });
  await api.call('PUT', `/endpoints/${bucket}`, {
    type: 'storage',
    settings: { batchFrequencyInSeconds: 0, target: 's3', s3: { bucket: BUCKET, endpoint: s3Endpoint, forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } },
  });
  await api.call('PUT', `/routes/${uniqueName('archive')}`, { source: 'DeviceMessages', condition: 'true', endpointNames: [local, bucket] });
  await hub.connectors?.reconcile();

  const deviceId = uniqueName('storage-dev');
  const registry = iothub.Registry.fromConnectionString(hub.serviceConnectionString);
  const key = (await registry.create({ deviceId })).responseBody.authentication!.symmetricKey!.primaryKey!;
  const client = device.Client.fromConnectionString(`HostName=localhost;DeviceId=${deviceId};SharedAccessKey=${key};GatewayHostName=localhost:${hub.mqttPort}`, deviceMqtt.Mqtt);
  const sent = [{ temperature: 21.5 }, { temperature: 22.25 }];
  const before = Date.now();
  await client.open();
  try {
    for (const [i, body] of sent.entries()) {
      const message = new device.Message(JSON.stringify(body));
      message.messageId = `${deviceId}-${i}`;
      message.contentType = 'application/json';
      message.contentEncoding = 'utf-8';
      message.properties.add('level', i === 0 ? 'low' : 'high');
      await client.sendEvent(message);
    }
  } finally {
    await client.close();
  }

  // Local JSON lines under <dataDir>/storage/<hubName>/<partition>/YYYY/MM/DD/HH/mm-<endpoint>-<offset>.json
  const root = join(hub.platform.dataDir, 'storage');
  const lines = await eventually('both messages in local files', async () => {
    const found: Record<string, unknown>[] = [];
    for (const file of (await listFiles(root)).filter((f) => f.includes(`-${local}-`))) {
      for (const line of (await readFile(join(root, file), 'utf8')).split('\n').filter(Boolean)) found.push(JSON.parse(line) as Record<string, unknown>);
    }
    return found.length >= 2 ? found : undefined;
  }, 60_000);
  const files = (await listFiles(root)).filter((f) => f.includes(`-${local}-`));
  const namePattern = new RegExp(`^${hub.config.hubName}/\\d+/\\d{4}/\\d{2}/\\d{2}/\\d{2}/\\d{2}-${local}-\\d{20}\\.json$`);
  assert.ok(files.every((f) => namePattern.test(f.split('\\').join('/'))), files.join(', '));
  const byId = new Map(lines.map((l) => [(l.SystemProperties as Record<string, string>).messageId, l]));
  for (const [i, body] of sent.entries()) {
    const line = byId.get(`${deviceId}-${i}`);
    assert.ok(line, `message ${i} in the local files`);
    assert.deepEqual(line.Body, body);
    assert.equal((line.Properties as Record<string, string>).level, i === 0 ? 'low' : 'high');
    const system = line.SystemProperties as Record<string, string>;
    assert.equal(system.connectionDeviceId, deviceId);
    assert.equal(system.contentType, 'application/json');
    assert.equal(system.contentEncoding, 'utf-8');
    assert.equal(system.enqueuedTime, line.EnqueuedTimeUtc);
    const enqueued = Date.parse(line.EnqueuedTimeUtc as string);
    assert.ok(enqueued >= before - 1000 && enqueued <= Date.now(), `enqueued ${line.EnqueuedTimeUtc}`);
  }

  // The bucket: Avro objects, the same messages.
  const s3Client = new S3Client({ endpoint: s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  try {
    const records = await eventually('both messages in the bucket', async () => {
      const listed = await s3Client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${hub.config.hubName}/` }));
      const found: Record<string, unknown>[] = [];
      for (const o of (listed.Contents ?? []).filter((c) => c.Key!.includes(`-${bucket}-`))) {
        const got = await s3Client.send(new GetObjectCommand({ Bucket: BUCKET, Key: o.Key! }));
        found.push(...(await readAvro(Buffer.from(await got.Body!.transformToByteArray()))));
      }
      return found.length >= 2 ? found : undefined;
    }, 60_000);
    const ids = records.map((r) => (r.SystemProperties as Record<string, string>).messageId).sort();
    assert.deepEqual(ids, [`${deviceId}-0`, `${deviceId}-1`]);
    const bodies = records.sort((a, b) => ((a.SystemProperties as Record<string, string>).messageId! < (b.SystemProperties as Record<string, string>).messageId! ? -1 : 1))
      .map((r) => JSON.parse((r.Body as Buffer).toString()) as unknown);
    assert.deepEqual(bodies, sent);
  } finally {
    s3Client.destroy();
  }
});
