/**
 * IoT Hub's routing model (RoutingProperties in the IoT Hub resource API): routes with a source, a routing-query
 * condition and endpoint names; custom endpoints (one topic `iot.route.<name>` each, drained by the connector of
 * their type); the built-in `events` endpoint; and the fallback route `$fallback`, which takes the device messages no
 * enabled route matched. Kept in the Store (migration 0006-routes.sql); every change bumps one version number in the
 * same transaction so routers reload without a restart.
 *
 * The TypeBox schemas double as the service API's JSON Schemas for `/routes` and `/endpoints`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { TributaryError } from '../../core/errors/index.ts';
import type { Queryable, Store } from '../../core/store/index.ts';
import { compileQuery } from './query/compile.ts';

export const BUILT_IN_ENDPOINT = 'events';
export const FALLBACK_ROUTE = '$fallback';
export const ROUTE_SOURCES = ['DeviceMessages', 'TwinChangeEvents', 'DeviceLifecycleEvents', 'DeviceConnectionStateEvents'] as const;
export type RouteSource = (typeof ROUTE_SOURCES)[number];
export const ENDPOINT_TYPES = ['kafka', 'storage', 'rabbitmq', 'webhook', 'clickhouse'] as const;

export const RouteSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'Route name, unique in the hub.' }),
    source: Type.Union(ROUTE_SOURCES.map((s) => Type.Literal(s)), { description: 'Which records the route looks at.' }),
    condition: Type.String({ default: 'true', minLength: 1, maxLength: 1024, description: "IoT Hub routing query, e.g. `$body.temperature > 30 AND $twin.tags.building = '43'`." }),
    endpointNames: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }), { minItems: 1, maxItems: 10, uniqueItems: true, description: "Endpoints matching records go to; 'events' is the built-in one." }),
    isEnabled: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type Route = Static<typeof RouteSchema>;

export const FallbackRouteSchema = Type.Object(
  {
    condition: Type.String({ default: 'true', minLength: 1, maxLength: 1024 }),
    endpointNames: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }), { minItems: 1, maxItems: 1, default: [BUILT_IN_ENDPOINT] }),
    isEnabled: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type FallbackRoute = Static<typeof FallbackRouteSchema>;
/** A new hub routes everything to `events`, as IoT Hub does with its fallback route enabled. */
export const DEFAULT_FALLBACK: FallbackRoute = { condition: 'true', endpointNames: [BUILT_IN_ENDPOINT], isEnabled: true };

export const EndpointSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$', description: "Endpoint name; records go to topic iot.route.<name>. Not 'events'." }),
    type: Type.Union(ENDPOINT_TYPES.map((t) => Type.Literal(t)), { description: 'The connector that drains the endpoint topic.' }),
    settings: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
  },
  { additionalProperties: false },
);
export type Endpoint = Static<typeof EndpointSchema>;

/** Everything a router needs, read in one go at one version. */
export interface RoutingSnapshot {
  version: number;
  routes: Route[];
  fallback: FallbackRoute;
  endpoints: Endpoint[];
}

function invalid(what: string, value: unknown, schema: Parameters<typeof Value.Errors>[0]): TributaryError {
  const first = [...Value.Errors(schema, value)][0];
  return new TributaryError('ArgumentInvalid', `${what} is invalid: ${first ? `${first.path || '/'}: ${first.message}` : 'does not match its schema'}`);
}

export class RouteStore {
  constructor(private readonly store: Store) {}

  async version(): Promise<number> {
    const [row] = await this.store.query<{ version: number }>('SELECT version FROM routing_state WHERE id = 1');
    return row?.version ?? 0;
  }

  async listRoutes(): Promise<Route[]> {
    const rows = await this.store.query<RouteRow>('SELECT * FROM routes WHERE name <> $1 ORDER BY name', [FALLBACK_ROUTE]);
    return rows.map(toRoute);
  }

  async getRoute(name: string): Promise<Route | undefined> {
    if (name === FALLBACK_ROUTE) return undefined;
    const [row] = await this.store.query<RouteRow>('SELECT * FROM routes WHERE name = $1', [name]);
    return row && toRoute(row);
  }

  /** Creates or replaces a route. Refuses a condition that does not compile or an endpoint that does not exist. */
  async putRoute(input: unknown): Promise<Route> {
    const route = Value.Default(RouteSchema, structuredClone(input)) as Route;
    if (!Value.Check(RouteSchema, route)) throw invalid('route', route, RouteSchema);
    compileQuery(route.condition);
    return this.store.transaction(async (tx) => {
      await assertEndpointsExist(tx, route.endpointNames);
      await tx.query(
        `INSERT INTO routes (name, source, condition, endpoint_names, is_enabled) VALUES ($1, $2, $3, $4::jsonb, $5)
         ON CONFLICT (name) DO UPDATE SET source = $2, condition = $3, endpoint_names = $4::jsonb, is_enabled = $5, updated_at = now()`,
        [route.name, route.source, route.condition, JSON.stringify(route.endpointNames), route.isEnabled],
      );
      await bump(tx);
      return route;
    });
  }

  async deleteRoute(name: string): Promise<boolean> {
    if (name === FALLBACK_ROUTE) throw new TributaryError('InvalidOperation', 'the fallback route cannot be deleted; disable it with putFallback({ isEnabled: false })');
    return this.store.transaction(async (tx) => {
      const deleted = await tx.query('DELETE FROM routes WHERE name = $1 RETURNING name', [name]);
      if (deleted.length > 0) await bump(tx);
      return deleted.length > 0;
    });
  }

  async getFallback(): Promise<FallbackRoute> {
    const [row] = await this.store.query<RouteRow>('SELECT * FROM routes WHERE name = $1', [FALLBACK_ROUTE]);
    if (!row) return { ...DEFAULT_FALLBACK, endpointNames: [...DEFAULT_FALLBACK.endpointNames] };
    return { condition: row.condition, endpointNames: row.endpoint_names, isEnabled: row.is_enabled };
  }

  async putFallback(input: unknown): Promise<FallbackRoute> {
    const fallback = Value.Default(FallbackRouteSchema, structuredClone(input)) as FallbackRoute;
    if (!Value.Check(FallbackRouteSchema, fallback)) throw invalid('fallback route', fallback, FallbackRouteSchema);
    compileQuery(fallback.condition);
    return this.store.transaction(async (tx) => {
      await assertEndpointsExist(tx, fallback.endpointNames);
      await tx.query(
        `INSERT INTO routes (name, source, condition, endpoint_names, is_enabled) VALUES ($1, 'DeviceMessages', $2, $3::jsonb, $4)
         ON CONFLICT (name) DO UPDATE SET condition = $2, endpoint_names = $3::jsonb, is_enabled = $4, updated_at = now()`,
        [FALLBACK_ROUTE, fallback.condition, JSON.stringify(fallback.endpointNames), fallback.isEnabled],
      );
      await bump(tx);
      return fallback;
    });
  }

  async listEndpoints(): Promise<Endpoint[]> {
    return (await this.store.query<EndpointRow>('SELECT * FROM route_endpoints ORDER BY name')).map(toEndpoint);
  }

  async getEndpoint(name: string): Promise<Endpoint | undefined> {
    const [row] = await this.store.query<EndpointRow>('SELECT * FROM route_endpoints WHERE name = $1', [name]);
    return row && toEndpoint(row);
  }

  async putEndpoint(input: unknown): Promise<Endpoint> {
    const endpoint = Value.Default(EndpointSchema, structuredClone(input)) as Endpoint;
    if (!Value.Check(EndpointSchema, endpoint)) throw invalid('endpoint', endpoint, EndpointSchema);
    if (endpoint.name === BUILT_IN_ENDPOINT) throw new TributaryError('ArgumentInvalid', `'${BUILT_IN_ENDPOINT}' is the built-in endpoint; choose another name`);
    return this.store.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO route_endpoints (name, type, settings) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET type = $2, settings = $3, updated_at = now()`,
        [endpoint.name, endpoint.type, endpoint.settings],
      );
      await bump(tx);
      return endpoint;
    });
  }

  /** Refuses to delete an endpoint a route still sends to, as IoT Hub does. */
  async deleteEndpoint(name: string): Promise<boolean> {
    return this.store.transaction(async (tx) => {
      const users = await tx.query<{ name: string }>('SELECT name FROM routes WHERE endpoint_names ? $1 ORDER BY name', [name]);
      if (users.length > 0) throw new TributaryError('InvalidOperation', `endpoint ${name} is used by route(s) ${users.map((u) => u.name).join(', ')}; change or delete them first`);
      const deleted = await tx.query('DELETE FROM route_endpoints WHERE name = $1 RETURNING name', [name]);
      if (deleted.length > 0) await bump(tx);
      return deleted.length > 0;
    });
  }

  /** Routes, fallback and endpoints as of one version (read in one transaction, so never half of a change). */
  async snapshot(): Promise<RoutingSnapshot> {
    return this.store.transaction(async (tx) => {
      const [state] = await tx.query<{ version: number }>('SELECT version FROM routing_state WHERE id = 1');
      const routeRows = await tx.query<RouteRow>('SELECT * FROM routes ORDER BY name');
      const endpoints = (await tx.query<EndpointRow>('SELECT * FROM route_endpoints ORDER BY name')).map(toEndpoint);
      const fallbackRow = routeRows.find((r) => r.name === FALLBACK_ROUTE);
      return {
        version: state?.version ?? 0,
        routes: routeRows.filter((r) => r.name !== FALLBACK_ROUTE).map(toRoute),
        fallback: fallbackRow ? { condition: fallbackRow.condition, endpointNames: fallbackRow.endpoint_names, isEnabled: fallbackRow.is_enabled } : { ...DEFAULT_FALLBACK },
        endpoints,
      };
    });
  }
}

interface RouteRow extends Record<string, unknown> {
  name: string;
  source: RouteSource;
  condition: string;
  endpoint_names: string[];
  is_enabled: boolean;
}
interface EndpointRow extends Record<string, unknown> {
  name: string;
  type: Endpoint['type'];
  settings: Record<string, unknown>;
}

function toRoute(row: RouteRow): Route {
  return { name: row.name, source: row.source, condition: row.condition, endpointNames: row.endpoint_names, isEnabled: row.is_enabled };
}
function toEndpoint(row: EndpointRow): Endpoint {
  return { name: row.name, type: row.type, settings: row.settings };
}

async function assertEndpointsExist(tx: Queryable, names: readonly string[]): Promise<void> {
  const custom = names.filter((n) => n !== BUILT_IN_ENDPOINT);
  if (custom.length === 0) return;
  const rows = await tx.query<{ name: string }>('SELECT name FROM route_endpoints WHERE name = ANY($1::text[])', [custom]);
  const missing = custom.filter((n) => !rows.some((r) => r.name === n));
  if (missing.length > 0) throw new TributaryError('ArgumentInvalid', `unknown endpoint(s) ${missing.join(', ')}; create them first (or use '${BUILT_IN_ENDPOINT}')`);
}

async function bump(tx: Queryable): Promise<void> {
  await tx.query('UPDATE routing_state SET version = version + 1 WHERE id = 1');
}
