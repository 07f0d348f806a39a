import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Log, ProduceRecord, RecordMetadata } from '../../core/log/types.ts';
import { TOPICS } from '../../core/log/topics.ts';
import type { DeviceMessage } from '../../core/serde/records.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { RecordBatcher, type WriteSink } from './record-batcher.ts';

function message(deviceId: string, n: number): DeviceMessage {
  return {
    messageId: `${deviceId}.${n}`, correlationId: null, userId: null, to: null, contentType: 'application/json', contentEncoding: 'utf-8',
    expiryTime: null, creationTime: null, enqueuedTime: 1_700_000_000_000 + n, connectionDeviceId: deviceId, connectionModuleId: null,
    connectionAuthMethod: '{"scope":"device","type":"sas","issuer":"iothub"}', connectionDeviceGenerationId: 'g1', interfaceId: null,
    componentName: null, outputName: null, ingestNode: 'n1', protocol: 'Mqtt', properties: { n: String(n) }, body: Buffer.from(`{"n":${n}}`),
  };
}

describe('RecordBatcher', () => {
  let platform: EmbeddedPlatform;
  before(async () => {
    platform = await openEmbeddedPlatform();
    await platform.log.createTopics([{ name: 'batcher-test', partitions: 2 }]);
  });
  after(() => platform.close());

  test('one produce per turn, in submission order, each sink told once, values decodable', async () => {
    const calls: number[] = [];
    const log = platform.log as Log;
    const counting: Log = Object.create(log, {
      produce: { value: (topic: string, records: ProduceRecord[]): Promise<RecordMetadata[]> => {
        calls.push(records.length);
        return log.produce(topic, records);
      } },
    }) as Log;
    let settled = 0;
    const batcher = new RecordBatcher(counting, platform.serde, TOPICS.deviceMessages, 'batcher-test', (n) => (settled += n));
    const told: Array<{ token: number; err: Error | undefined }> = [];
    const sink: WriteSink<number> = { written: (token, err) => told.push({ token, err }) };
    const done = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (told.length === 250) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    // Before the writer schema is known (first batch) and after: both paths.
    for (let i = 0; i < 200; i++) batcher.add(`d${i % 3}`, message(`d${i % 3}`, i), 1_700_000_000_000 + i, sink, i);
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 200; i < 250; i++) batcher.add(`d${i % 3}`, message(`d${i % 3}`, i), 1_700_000_000_000 + i, sink, i);
    await done;
    assert.deepEqual(told.filter((t) => t.err).length, 0);
    assert.deepEqual(told.map((t) => t.token).sort((a, b) => a - b), Array.from({ length: 250 }, (_, i) => i));
    assert.equal(settled, 250);
    assert.equal(calls.reduce((a, b) => a + b, 0), 250);
    assert.ok(calls.length <= 4, `produce calls: ${calls.join(',')}`);

    const records = await platform.readTopic('batcher-test', 250);
    const decoded = await Promise.all(records.map((r) => platform.serde.decode<DeviceMessage>(r.value!, TOPICS.deviceMessages)));
    // Per device (key), the order of submission.
    for (const d of ['d0', 'd1', 'd2']) {
      const ns = decoded.filter((m) => m.connectionDeviceId === d).map((m) => Number(m.properties?.n));
      assert.deepEqual(ns, [...ns].sort((a, b) => a - b));
      assert.equal(ns.length, Array.from({ length: 250 }, (_, i) => i).filter((i) => `d${i % 3}` === d).length);
    }
  });

  test('a value the schema refuses fails alone; the rest of the batch is written', async () => {
    const batcher = new RecordBatcher(platform.log as Log, platform.serde, TOPICS.deviceMessages, 'batcher-test', () => undefined);
    const told = new Map<number, Error | undefined>();
    const sink: WriteSink<number> = { written: (token, err) => told.set(token, err) };
    batcher.add('d0', message('d0', 1), 1, sink, 1);
    batcher.add('d0', { ...message('d0', 2), protocol: 42 }, 2, sink, 2);
    batcher.add('d0', message('d0', 3), 3, sink, 3);
    while (told.size < 3) await new Promise((r) => setTimeout(r, 5));
    assert.equal(told.get(1), undefined);
    assert.equal((told.get(2) as { code?: string } | undefined)?.code, 'SerializationFailed');
    assert.equal(told.get(3), undefined);
  });
});
