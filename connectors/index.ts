/**
 * The built-in connectors, one per endpoint type (processors/router/routes.ts ENDPOINT_TYPES), registered with the
 * settings each takes from the hub's configuration. Importing this module registers them; the endpoint supervisor
 * (connectors/runtime/endpoint-supervisor.ts) looks types up in that registry.
 */
import { join } from 'node:path';
import { clickhouseConnector } from './clickhouse/index.ts';
import { kafkaConnector } from './kafka/index.ts';
import { rabbitmqConnector } from './rabbitmq/index.ts';
import { storageConnector } from './storage/index.ts';
import { webhookConnector } from './webhook/index.ts';
import { registerConnectorType, type HubContext } from './runtime/registry.ts';

export function clickhouseHubDefaults(hub: HubContext): Record<string, unknown> {
  return { url: hub.clickhouse?.url, database: hub.clickhouse?.database };
}

registerConnectorType('kafka', kafkaConnector);
registerConnectorType('clickhouse', clickhouseConnector, clickhouseHubDefaults);
// An endpoint with no queue or exchange publishes to a queue named after the endpoint (as a Service Bus queue endpoint
// names its queue), so `{ "type": "rabbitmq" }` alone is a working endpoint.
registerConnectorType('rabbitmq', rabbitmqConnector, (hub, endpoint) => ({
  url: hub.amqp?.url,
  ...(endpoint.settings.queue === undefined && endpoint.settings.exchange === undefined ? { queue: endpoint.name } : {}),
}));
registerConnectorType('storage', storageConnector, (hub) => ({ hubName: hub.hubName, directory: join(hub.dataDir, 'storage') }));
registerConnectorType('webhook', webhookConnector, (hub) => ({ hubName: hub.hubName }));

export { clickhouseConnector, kafkaConnector, rabbitmqConnector, storageConnector, webhookConnector };
export { connectorType, effectiveSettings, registerConnectorType, registeredConnectorTypes, type ConnectorType, type EndpointContext, type HubContext } from './runtime/registry.ts';
export { startEndpointSupervisor, type EndpointSupervisor, type EndpointStatus } from './runtime/endpoint-supervisor.ts';
