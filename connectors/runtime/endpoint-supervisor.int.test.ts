/**
 * The connectors role of the composed hub (embedded log, PGlite, HTTPS on an ephemeral port): a kafka endpoint and a
 * route to it added through the RouteStore while the hub runs get the routed device messages re-published to the
 * endpoint's target topic — no restart — and removing the endpoint stops its connector.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TOPICS } from '../../core/log/topics.ts';
import type { LogRecord } from '../../core/log/types.ts';
import { RouteStore } from '../../processors/router/routes.ts';
import { eventually, uniqueName } from '../../test/support/services.ts';
import { startTestHub, type TestHub } from '../../test/support/test-hub.ts';
import type { RoutedMessageJson } from '../kafka/kafka-record.ts';
import { sampleDeviceMessage } from './testing.ts';

let testHub: TestHub;
before(async () => {
  testHub = await startTestHub({ env: { TRIBUTARY_PORTS_HTTPS: '0', TRIBUTARY_ROLES: 'processors,connectors' } });
});
after(() => testHub?.close());

test('a kafka endpoint added through the RouteStore receives routed messages without a restart', async () => {
  const { platform, connectors } = testHub.hub;
  assert.ok(connectors, 'the connectors role runs');
  const routes = new RouteStore(platform.store);
  const endpoint = uniqueName('kafka-ep');
  const target = uniqueName('out');
  await routes.putEndpoint({ name: endpoint, type: 'kafka', settings: { topic: target } });
  await routes.putRoute({ name: 'hot', source: 'DeviceMessages', condition: '$body.temperature > 30', endpointNames: [endpoint] });
  await eventually('endpoint connector running', () => (connectors.status().find((s) => s.endpoint === endpoint)?.state === 'running' ? true : undefined), 30_000);

  // The router reloads routes on its own schedule: keep sending until the route is in effect, then a last known batch.
  const received: LogRecord[] = [];
  const reader = platform.log.consumer({ groupId: uniqueName('reader'), topics: [target], fromBeginning: true });
  await reader.start(async (batch) => void received.push(...batch.records));
  try {
    let seq = 0;
    const send = async (temperature: number, device = 'dev-hot') => {
      const message = sampleDeviceMessage({ messageId: `m${seq++}`, connectionDeviceId: device, body: Buffer.from(JSON.stringify({ temperature })) });
      await platform.log.produce(TOPICS.deviceMessagesEnriched, [{ key: device, value: await platform.serde.encode(TOPICS.deviceMessagesEnriched, message) }]);
    };
    await eventually('route in effect', async () => {
      await send(35);
      return received.length > 0 ? true : undefined;
    }, 30_000);
    const firstSeq = seq;
    await send(10); // not selected by the route
    for (let i = 0; i < 5; i++) await send(40 + i);
    const expected = Array.from({ length: 5 }, (_, i) => `m${firstSeq + 1 + i}`);
    await eventually('the last five hot messages', () => (expected.every((id) => received.some((r) => JSON.parse(r.value!.toString()).messageId === id)) ? true : undefined), 30_000);
    const values = received.map((r) => JSON.parse(r.value!.toString()) as RoutedMessageJson);
    assert.ok(values.every((v) => JSON.parse(v.body).temperature > 30), 'only what the route selected');
    assert.ok(values.every((v) => v.endpoint === endpoint && v.route === 'hot' && v.deviceId === 'dev-hot'));
    assert.ok(received.every((r) => r.key?.toString() === 'dev-hot'));
    const order = values.map((v) => Number(v.messageId!.slice(1)));
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'per-device order kept');
  } finally {
    await reader.stop();
  }

  await routes.deleteRoute('hot');
  await routes.deleteEndpoint(endpoint);
  await eventually('endpoint connector stopped', () => (connectors.status().some((s) => s.endpoint === endpoint) ? undefined : true), 30_000);
});
