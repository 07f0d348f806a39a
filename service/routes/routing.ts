import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { TributaryError } from '../../core/errors/index.ts';
import { EndpointSchema, FallbackRouteSchema, RouteSchema, type RouteStore } from '../../processors/router/routes.ts';

const NameParams = Type.Object({ name: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$' }) });
/** The route name comes from the path; a body may repeat it. */
const RouteBody = Type.Composite([Type.Omit(RouteSchema, ['name']), Type.Object({ name: Type.Optional(Type.String()) })], { additionalProperties: false });
const EndpointBody = Type.Composite([Type.Omit(EndpointSchema, ['name']), Type.Object({ name: Type.Optional(Type.String()) })], { additionalProperties: false });

/**
 * IoT Hub's message routing model (routes, custom endpoints, the fallback route) as service API resources. In IoT Hub
 * these are hub properties set through the management plane; here they share the service API and its policies.
 * Changes reach running routers without a restart: the router reloads when the routing version moves.
 */
export const routingRoutes: FastifyPluginAsync<{ routes: RouteStore }> = async (app, { routes }) => {
  const notFound = (what: string, name: string) => new TributaryError('RouteNotFound', `no ${what} named "${name}"; list them with GET /${what === 'route' ? 'routes' : 'endpoints'}`);
  const nameMatches = (path: string, body: { name?: string }) => {
    if (body.name !== undefined && body.name !== path) throw new TributaryError('ArgumentInvalid', `the body names "${body.name}" but the path names "${path}"`);
  };

  app.get('/routes', { config: { permission: 'RegistryRead' }, schema: { tags: ['routing'], summary: 'List routes' } }, async () => routes.listRoutes());
  app.get<{ Params: { name: string } }>(
    '/routes/:name',
    { config: { permission: 'RegistryRead' }, schema: { tags: ['routing'], summary: 'Get a route', params: NameParams } },
    async (request) => (await routes.getRoute(request.params.name)) ?? Promise.reject(notFound('route', request.params.name)),
  );
  app.put<{ Params: { name: string }; Body: { name?: string } }>(
    '/routes/:name',
    { config: { permission: 'RegistryWrite' }, schema: { tags: ['routing'], summary: 'Create or replace a route (condition in IoT Hub routing-query syntax)', params: NameParams, body: RouteBody } },
    async (request) => {
      nameMatches(request.params.name, request.body);
      return routes.putRoute({ ...request.body, name: request.params.name });
    },
  );
  app.delete<{ Params: { name: string } }>(
    '/routes/:name',
    { config: { permission: 'RegistryWrite' }, schema: { tags: ['routing'], summary: 'Delete a route', params: NameParams } },
    async (request, reply) => {
      if (!(await routes.deleteRoute(request.params.name))) throw notFound('route', request.params.name);
      return reply.code(204).send();
    },
  );

  app.get('/fallbackRoute', { config: { permission: 'RegistryRead' }, schema: { tags: ['routing'], summary: 'Get the fallback route' } }, async () => routes.getFallback());
  app.put<{ Body: unknown }>(
    '/fallbackRoute',
    { config: { permission: 'RegistryWrite' }, schema: { tags: ['routing'], summary: 'Enable, disable or redirect the fallback route', body: FallbackRouteSchema } },
    async (request) => routes.putFallback(request.body),
  );

  app.get('/endpoints', { config: { permission: 'RegistryRead' }, schema: { tags: ['routing'], summary: 'List custom endpoints' } }, async () => routes.listEndpoints());
  app.get<{ Params: { name: string } }>(
    '/endpoints/:name',
    { config: { permission: 'RegistryRead' }, schema: { tags: ['routing'], summary: 'Get a custom endpoint', params: NameParams } },
    async (request) => (await routes.getEndpoint(request.params.name)) ?? Promise.reject(notFound('endpoint', request.params.name)),
  );
  app.put<{ Params: { name: string }; Body: { name?: string } }>(
    '/endpoints/:name',
    { config: { permission: 'RegistryWrite' }, schema: { tags: ['routing'], summary: 'Create or replace a custom endpoint (topic iot.route.<name>)', params: NameParams, body: EndpointBody } },
    async (request) => {
      nameMatches(request.params.name, request.body);
      return routes.putEndpoint({ ...request.body, name: request.params.name });
    },
  );
  app.delete<{ Params: { name: string } }>(
    '/endpoints/:name',
    { config: { permission: 'RegistryWrite' }, schema: { tags: ['routing'], summary: 'Delete a custom endpoint no route uses', params: NameParams } },
    async (request, reply) => {
      if (!(await routes.deleteEndpoint(request.params.name))) throw notFound('endpoint', request.params.name);
      return reply.code(204).send();
    },
  );
};
