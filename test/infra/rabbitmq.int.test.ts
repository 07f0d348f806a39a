// Smoke test of the pre-started RabbitMQ through amqplib, in the vhost infra/rabbitmq/ensure.sh creates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { eventually, services, uniqueName } from '../support/services.ts';

test('rabbitmq: publish with publisher confirms and consume the messages back with their headers', async () => {
  const connection = await amqp.connect(services.amqpUrl);
  const channel = await connection.createConfirmChannel();
  const queue = uniqueName('smoke');
  try {
    await channel.assertQueue(queue, { exclusive: true });
    for (let i = 0; i < 5; i++) channel.sendToQueue(queue, Buffer.from(`m${i}`), { headers: { 'iothub-connection-device-id': 'd1' } });
    await channel.waitForConfirms();
    const received: string[] = [];
    await channel.consume(queue, (msg) => {
      if (!msg) return;
      assert.equal(msg.properties.headers?.['iothub-connection-device-id'], 'd1');
      received.push(msg.content.toString());
      channel.ack(msg);
    });
    await eventually('5 messages', () => (received.length >= 5 ? true : undefined), 20_000);
    assert.deepEqual(received, ['m0', 'm1', 'm2', 'm3', 'm4']);
  } finally {
    await channel.close();
    await connection.close();
  }
});
