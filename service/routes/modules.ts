import type { FastifyPluginAsync } from 'fastify';
import type { DeviceRegistry } from '../../core/registry/index.ts';
import { DeviceParams, ModuleBodySchema, ModuleParams } from '../schemas.ts';
import { ifMatchOf, quote } from './devices.ts';

type ModuleParamsT = { deviceId: string; moduleId: string };

/** Module identities: `/devices/{deviceId}/modules` (iothub-wire.md §5.1). */
export const moduleRoutes: FastifyPluginAsync<{ registry: DeviceRegistry }> = async (app, { registry }) => {
  app.put<{ Params: ModuleParamsT; Body: Record<string, unknown> }>(
    '/devices/:deviceId/modules/:moduleId',
    { config: { permission: 'RegistryWrite' }, schema: { tags: ['modules'], summary: 'Create (no If-Match) or update (If-Match) a module', params: ModuleParams, body: ModuleBodySchema } },
    async (request, reply) => {
      const { deviceId, moduleId } = request.params;
      const module = await registry.putModule(deviceId, moduleId, request.body, ifMatchOf(request.headers['if-match']));
      return reply.header('etag', quote(module.etag)).send(module);
    },
  );

  app.get<{ Params: ModuleParamsT }>(
    '/devices/:deviceId/modules/:moduleId',
    { config: { permission: 'RegistryRead' }, schema: { tags: ['modules'], summary: 'Get a module', params: ModuleParams } },
    async (request, reply) => {
      const module = await registry.getModule(request.params.deviceId, request.params.moduleId);
      return reply.header('etag', quote(module.etag)).send(module);
    },
  );

  app.get<{ Params: { deviceId: string } }>(
    '/devices/:deviceId/modules',
    { config: { permission: 'RegistryRead' }, schema: { tags: ['modules'], summary: 'List the modules of a device', params: DeviceParams } },
    async (request) => registry.listModules(request.params.deviceId),
  );

  app.delete<{ Params: ModuleParamsT }>(
    '/devices/:deviceId/modules/:moduleId',
    { config: { permission: 'RegistryWrite' }, schema: { tags: ['modules'], summary: 'Delete a module and its twin', params: ModuleParams } },
    async (request, reply) => {
      await registry.deleteModule(request.params.deviceId, request.params.moduleId, ifMatchOf(request.headers['if-match']));
      return reply.code(204).send();
    },
  );
};
