import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { validateOptions } from '../core/runtime/validate-options.ts';
import { ENDPOINT_TYPES } from '../processors/router/routes.ts';
import { connectorType, effectiveSettings, registeredConnectorTypes, type HubContext } from './index.ts';

const hub: HubContext = {
  hubName: 'plant-hub', dataDir: '/var/lib/tributary',
  clickhouse: { url: 'http://ch:8123', database: 'analytics' }, amqp: { url: 'amqp://u:p@mq:5672/iot' },
};

/** The settings the supervisor starts an endpoint with, validated as the runtime validates them. */
function started(type: string, name: string, settings: Record<string, unknown>): Record<string, unknown> {
  const registered = connectorType(type);
  assert.ok(registered, `${type} is registered`);
  return validateOptions(`connector ${type}`, registered.definition.configSchema, effectiveSettings(registered, { name, settings }, hub)) as Record<string, unknown>;
}

test('every endpoint type of the router has a connector', () => {
  assert.deepEqual(registeredConnectorTypes(), [...ENDPOINT_TYPES].sort());
});

test('a rabbitmq endpoint with no settings publishes to a queue named after it, on the hub\'s broker', () => {
  const config = started('rabbitmq', 'alerts', {});
  assert.equal(config.url, hub.amqp!.url);
  assert.equal(config.queue, 'alerts');
  assert.equal(config.exchange, undefined);
  // An exchange or a queue of its own is left alone (queue and exchange together are refused by the connector).
  assert.equal(started('rabbitmq', 'alerts', { exchange: 'iot' }).queue, undefined);
  assert.equal(started('rabbitmq', 'alerts', { queue: 'q1' }).queue, 'q1');
  assert.equal(started('rabbitmq', 'alerts', { url: 'amqp://other/' }).url, 'amqp://other/');
});

test('storage writes under <dataDir>/storage and names files after the hub; clickhouse uses the hub\'s server', () => {
  const storage = started('storage', 'archive', {});
  assert.equal(storage.directory, join(hub.dataDir, 'storage'));
  assert.equal(storage.hubName, hub.hubName);
  assert.equal(started('storage', 'archive', { directory: '/mnt/lake' }).directory, '/mnt/lake');
  const clickhouse = started('clickhouse', 'events', {});
  assert.equal(clickhouse.url, hub.clickhouse!.url);
  assert.equal(clickhouse.database, hub.clickhouse!.database);
  assert.equal(started('webhook', 'grid', { url: 'https://example.test/hook' }).hubName, hub.hubName);
});
