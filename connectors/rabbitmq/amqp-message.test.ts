import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TributaryError } from '../../core/errors/index.ts';
import type { RoutedMessage } from '../runtime/routed-message.ts';
import { toAmqpMessage } from './amqp-message.ts';
import { connectionUser, targetOf } from './config.ts';
import { compileTemplate } from './routing-key.ts';

const T = Date.UTC(2026, 10, 27, 7, 30, 1, 999);

function routed(overrides: Partial<RoutedMessage> = {}): RoutedMessage {
  return {
    source: 'DeviceMessages', deviceId: 'dev-1', moduleId: null, messageId: 'm-1', dedupeId: 'm-1', enqueuedTime: T,
    systemProperties: {
      'message-id': 'm-1', 'correlation-id': 'c-1', 'user-id': 'alice', 'content-type': 'application/json', 'content-encoding': 'utf-8',
      'iothub-connection-device-id': 'dev-1', 'iothub-enqueuedtime': new Date(T).toISOString(),
    },
    appProperties: { level: 'high', site: 'from-device' }, enrichments: { site: 'plant-7', owner: 'ops' },
    body: Buffer.from('{"t":1}'), bodyText: '{"t":1}', ingestNode: 'n1', protocol: 'Mqtt',
    route: 'r1', endpoint: 'queue-ep', sourceTopic: 'iot.device.messages.enriched', sourcePartition: 0, sourceOffset: 3,
    ...overrides,
  };
}

describe('toAmqpMessage', () => {
  it('maps IoT Hub properties to AMQP properties and the rest to headers', () => {
    const { content, options } = toAmqpMessage(routed(), 'tributary');
    assert.deepEqual(content, Buffer.from('{"t":1}'));
    assert.deepEqual(options, {
      persistent: true,
      messageId: 'm-1',
      correlationId: 'c-1',
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      timestamp: Math.floor(T / 1000),
      headers: {
        level: 'high', site: 'plant-7', owner: 'ops',
        'iothub-connection-device-id': 'dev-1', 'iothub-enqueuedtime': '2026-11-27T07:30:01.999Z',
        'user-id': 'alice', 'tributary-dedupe-id': 'm-1', 'tributary-route': 'r1', 'tributary-endpoint': 'queue-ep',
      },
    });
  });

  it('sets user-id as the AMQP property only when it is the connection user (RabbitMQ validates it)', () => {
    const { options } = toAmqpMessage(routed(), 'alice');
    assert.equal(options.userId, 'alice');
    assert.equal((options.headers as Record<string, string>)['user-id'], undefined);
  });

  it('a message without a message id gets its dedupe id as AMQP message-id', () => {
    const message = routed({ messageId: null, dedupeId: 'iot.device.messages.enriched/0/3', systemProperties: {} });
    const { options } = toAmqpMessage(message, 'x');
    assert.equal(options.messageId, 'iot.device.messages.enriched/0/3');
    assert.equal(options.correlationId, undefined);
    assert.ok(!('contentType' in options));
  });
});

describe('routing-key templates', () => {
  it('resolves fields and property maps; missing values are empty', () => {
    const key = compileTemplate('t.{deviceId}.{moduleId}.{properties.level}.{enrichments.owner}.{systemProperties.iothub-connection-device-id}.{properties.none}', 'routingKey');
    assert.equal(key(routed()), 't.dev-1..high.ops.dev-1.');
    assert.equal(compileTemplate('fixed', 'routingKey')(routed()), 'fixed');
  });

  it('rejects unknown placeholders at start-up, including inherited object keys', () => {
    for (const bad of ['{device}', '{constructor}', '{properties.}', '{toString.x}']) {
      assert.throws(() => compileTemplate(bad, 'routingKey'), (e: unknown) => e instanceof TributaryError && e.code === 'ConfigInvalid' && e.message.includes(bad));
    }
  });
});

describe('config', () => {
  it('needs exactly one of queue and exchange', () => {
    const base = { url: 'amqp://h', exchangeType: 'topic' as const, routingKey: '', declare: true, queueArguments: {}, mandatory: true, confirmTimeoutMs: 1000 };
    assert.throws(() => targetOf(base), /exactly one/);
    assert.throws(() => targetOf({ ...base, queue: 'q', exchange: 'x' }), /exactly one/);
    assert.deepEqual(targetOf({ ...base, queue: 'q' }), { exchange: '', fixedRoutingKey: 'q' });
    assert.deepEqual(targetOf({ ...base, exchange: 'x' }), { exchange: 'x', fixedRoutingKey: undefined });
    assert.throws(() => targetOf({ ...base, exchange: 'amq.topic' }), /reserved/);
  });

  it('knows the user RabbitMQ will validate user-id against', () => {
    assert.equal(connectionUser('amqp://h:5672/v'), 'guest');
    assert.equal(connectionUser('amqp://svc%40x:pw@h/v'), 'svc@x');
  });
});
