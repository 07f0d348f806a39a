/**
 * Which connector drains an endpoint of each type (processors/router/routes.ts ENDPOINT_TYPES). connectors/index.ts
 * registers the built-in ones; a deployment may register its own before starting the hub.
 */
import type { TSchema } from '@sinclair/typebox';
import { TributaryError } from '../../core/errors/index.ts';
import type { ConnectorDefinition } from './define-connector.ts';

/** What the hub knows that endpoint settings may leave out (the hub's own ClickHouse, RabbitMQ, name, data dir). */
export interface HubContext {
  hubName: string;
  /** Absolute data dir of this process. */
  dataDir: string;
  clickhouse?: { url?: string | undefined; database?: string | undefined };
  amqp?: { url?: string | undefined };
}

/** The endpoint a connector is started for, as the route store holds it (its own settings, before the hub's defaults). */
export interface EndpointContext {
  name: string;
  settings: Record<string, unknown>;
}

/** Settings filled in from the hub's configuration and the endpoint's name where the endpoint does not set them. */
export type HubDefaults = (hub: HubContext, endpoint: EndpointContext) => Record<string, unknown>;

export interface ConnectorType {
  // The registry holds definitions of many config types; each is validated against its own schema at start.
  definition: ConnectorDefinition<TSchema>;
  /**
   * Settings filled in from the hub's configuration where the endpoint does not set them (an endpoint's own settings
   * win). Only keys the connector's schema has: schemas reject unknown ones.
   */
  hubDefaults?: HubDefaults;
}

const types = new Map<string, ConnectorType>();

export function registerConnectorType<S extends TSchema>(type: string, definition: ConnectorDefinition<S>, hubDefaults?: HubDefaults): void {
  if (!/^[a-z][a-z0-9-]*$/.test(type)) throw new TributaryError('ArgumentInvalid', `connector type "${type}" must be lower-case kebab-case`);
  types.set(type, { definition: definition as unknown as ConnectorDefinition<TSchema>, ...(hubDefaults ? { hubDefaults } : {}) });
}

export function connectorType(type: string): ConnectorType | undefined {
  return types.get(type);
}

export function registeredConnectorTypes(): string[] {
  return [...types.keys()].sort();
}

/** The endpoint's settings over the hub's defaults for its type; `undefined` values of the defaults are left out. */
export function effectiveSettings(type: ConnectorType, endpoint: EndpointContext, hub: HubContext): Record<string, unknown> {
  const settings = endpoint.settings;
  const defaults = type.hubDefaults?.(hub, endpoint) ?? {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(defaults)) if (v !== undefined) out[k] = v;
  return { ...out, ...settings };
}
