import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TOPICS, routeTopic } from '../../core/log/topics.ts';
import { DLQ_HEADERS } from '../../core/runtime/dead-letter.ts';
import type { ForwardedRecord } from '../../core/serde/index.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { runConnector } from '../runtime/run-connector.ts';
import { routedRecord, sampleDeviceMessage } from '../runtime/testing.ts';
import { kafkaConnector } from './kafka.ts';
import type { RoutedMessageJson } from './kafka-record.ts';

let platform: EmbeddedPlatform;
before(async () => {
  platform = await openEmbeddedPlatform();
  await platform.log.createTopics([{ name: routeTopic('hub'), partitions: 2 }, { name: TOPICS.deadLetter, partitions: 1 }]);
});
after(() => platform.close());

test('json format: keyed by device id, properties as headers, JSON bodies as text and binary ones as base64; junk is dead-lettered', async () => {
  const messages = Array.from({ length: 12 }, (_, i) => sampleDeviceMessage({
    messageId: `m${i}`,
    connectionDeviceId: `dev-${i % 3}`,
    properties: { seq: String(i) },
    enrichments: { site: 's1' },
    ...(i % 4 === 0 ? { contentType: 'application/octet-stream', body: Buffer.from([i, 0, 255]) } : { body: Buffer.from(JSON.stringify({ i })) }),
  }));
  const records = await Promise.all(messages.map((m, i) => routedRecord(platform.serde, 'hub', m, { sourceOffset: 100 + i })));
  records.splice(5, 0, { key: 'dev-x', value: 'not avro' });
  await platform.log.produce(routeTopic('hub'), records);

  const running = await runConnector(kafkaConnector, { log: platform.log, serde: platform.serde, topics: [routeTopic('hub')], config: { topic: 'out.json' }, maxBatchWaitMs: 20 });
  try {
    const out = await platform.readTopic('out.json', 12);
    assert.equal(out.length, 12);
    for (const record of out) {
      const json = JSON.parse(record.value!.toString()) as RoutedMessageJson;
      const i = Number(json.appProperties.seq);
      const original = messages[i]!;
      assert.equal(record.key!.toString(), original.connectionDeviceId);
      assert.equal(json.deviceId, original.connectionDeviceId);
      assert.equal(json.messageId, `m${i}`);
      assert.equal(json.dedupeId, `m${i}`);
      assert.equal(json.endpoint, 'hub');
      assert.deepEqual(json.enrichments, { site: 's1' });
      assert.equal(json.sourceOffset, 100 + i);
      assert.equal(record.timestamp, original.enqueuedTime);
      if (i % 4 === 0) {
        assert.equal(json.bodyEncoding, 'base64');
        assert.deepEqual(Buffer.from(json.body, 'base64'), Buffer.from([i, 0, 255]));
      } else {
        assert.equal(json.bodyEncoding, 'utf-8');
        assert.deepEqual(JSON.parse(json.body), { i });
      }
      assert.equal(record.headers['message-id']?.toString(), `m${i}`);
      assert.equal(record.headers['iothub-connection-device-id']?.toString(), original.connectionDeviceId);
      assert.equal(record.headers.seq?.toString(), String(i));
      assert.equal(record.headers['content-type']?.toString(), 'application/json');
    }
    const perDevice = new Map<string, number[]>();
    for (const r of out) perDevice.set(r.key!.toString(), [...(perDevice.get(r.key!.toString()) ?? []), Number(r.headers.seq!.toString())]);
    for (const [device, seqs] of perDevice) assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${device} in order`);

    const [dead] = await platform.readTopic(TOPICS.deadLetter, 1);
    assert.equal((await platform.serde.decode<ForwardedRecord>(dead!.value!)).value!.toString(), 'not avro');
    assert.equal(dead!.headers[DLQ_HEADERS.code]?.toString(), 'SerializationFailed');
  } finally {
    await running.stop();
  }
});

test('avro format: the original Confluent-wire value, unchanged', async () => {
  await platform.log.createTopics([{ name: routeTopic('avro'), partitions: 1 }]);
  const message = sampleDeviceMessage({ messageId: 'a1', connectionDeviceId: 'dev-a' });
  const original = await platform.serde.encode(TOPICS.deviceMessagesEnriched, message);
  await platform.log.produce(routeTopic('avro'), [await routedRecord(platform.serde, 'avro', message)]);
  const running = await runConnector(kafkaConnector, { log: platform.log, serde: platform.serde, topics: [routeTopic('avro')], config: { topic: 'out.avro', format: 'avro' } });
  try {
    const [record] = await platform.readTopic('out.avro', 1);
    assert.deepEqual(record!.value, original);
    assert.equal(record!.key!.toString(), 'dev-a');
    assert.deepEqual(await platform.serde.decode(record!.value!, TOPICS.deviceMessagesEnriched), await platform.serde.decode(original, TOPICS.deviceMessagesEnriched));
  } finally {
    await running.stop();
  }
});
