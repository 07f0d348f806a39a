import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TOPICS } from '../../core/log/topics.ts';
import { DLQ_HEADERS } from '../../core/runtime/dead-letter.ts';
import type { DeviceMessage, ForwardedRecord } from '../../core/serde/index.ts';
import { eventually } from '../../test/support/services.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { runProcessor } from '../runtime/run-processor.ts';
import { thresholdAlert } from './threshold-alert.ts';

let platform: EmbeddedPlatform;
before(async () => {
  platform = await openEmbeddedPlatform();
  await platform.log.createTopics([
    { name: TOPICS.deviceMessages, partitions: 2 },
    { name: 'iot.route.alerts', partitions: 2 },
    { name: TOPICS.deadLetter, partitions: 1 },
  ]);
});
after(() => platform.close());

function message(deviceId: string, body: string, contentType = 'application/json'): DeviceMessage {
  return {
    messageId: `${deviceId}-${body.length}`, contentType, contentEncoding: 'utf-8', enqueuedTime: 1_767_225_600_000,
    connectionDeviceId: deviceId, ingestNode: 'test', protocol: 'Mqtt', properties: {}, body: Buffer.from(body),
  };
}

test('threshold-alert forwards only JSON telemetry above the threshold and dead-letters unreadable bodies', async () => {
  const { log, serde } = platform;
  const inputs = [
    message('d1', '{"temperature":20}'),
    message('d2', '{"temperature":35.5}'),
    message('d3', '{"temperature":99}', 'text/plain'),
    message('d4', '{"temperature":'),
    message('d5', '{"humidity":99}'),
  ];
  await log.produce(TOPICS.deviceMessages, await Promise.all(inputs.map(async (m) => ({ key: m.connectionDeviceId, value: await serde.encode(TOPICS.deviceMessages, m) }))));

  const running = await runProcessor(thresholdAlert, { log, serde, config: { field: 'temperature', above: 30 } });
  try {
    const [alert] = await platform.readTopic('iot.route.alerts', 1);
    const forwarded = await serde.decode<ForwardedRecord>(alert!.value!);
    assert.equal(forwarded.route, 'threshold-alert');
    assert.equal(forwarded.endpoint, 'alerts');
    const original = await serde.decode<DeviceMessage>(forwarded.value!);
    assert.equal(original.connectionDeviceId, 'd2');
    assert.equal(alert!.key!.toString(), 'd2', 'alerts stay keyed by device id');

    const [dead] = await platform.readTopic(TOPICS.deadLetter, 1);
    assert.equal(dead!.headers[DLQ_HEADERS.code]!.toString(), 'ArgumentInvalid');
    const deadValue = await serde.decode<ForwardedRecord>(dead!.value!);
    assert.equal(deadValue.failedBy, 'processor:threshold-alert');
    assert.equal((await serde.decode<DeviceMessage>(deadValue.value!)).connectionDeviceId, 'd4');

    // Everything was handled, so the group's committed offsets reach the end of every partition.
    const end = await log.endOffsets(TOPICS.deviceMessages);
    await eventually('offsets committed to the end', async () => {
      const committed = await log.committedOffsets(running.groupId, TOPICS.deviceMessages);
      return end.every((e) => e.offset === 0 || committed.find((c) => c.partition === e.partition)?.offset === e.offset) ? true : undefined;
    });
  } finally {
    await running.stop();
  }
  // Nothing else reached the endpoint: exactly one alert for five inputs.
  assert.deepEqual((await log.endOffsets('iot.route.alerts')).reduce((n, p) => n + p.offset, 0), 1);
});

test('threshold-alert refuses a configuration without a threshold, naming the setting', async () => {
  await assert.rejects(
    runProcessor(thresholdAlert, { log: platform.log, serde: platform.serde, config: { field: 'temperature' } }),
    { code: 'ConfigInvalid', message: /above/ },
  );
});
