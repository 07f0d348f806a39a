import type { FastifyPluginAsync } from 'fastify';
import type { DeviceRegistry } from '../../core/registry/index.ts';
import { BulkBodySchema, DeviceBodySchema, DeviceParams, ListQuery } from '../schemas.ts';

type DeviceParamsT = { deviceId: string };

/** Device identities: `/devices` (iothub-wire.md §5.1). Responses carry the etag in the body and in `ETag`. */
export const deviceRoutes: FastifyPluginAsync<{ registry: DeviceRegistry }> = async (app, { registry }) => {
  app.put<{ Params: DeviceParamsT; Body: Record<string, unknown> }>(
    '/devices/:deviceId',
    { config: { permission: 'RegistryWrite' }, schema: { tags: ['devices'], summary: 'Create (no If-Match) or update (If-Match) a device', params: DeviceParams, body: DeviceBodySchema } },
    async (request, reply) => {
      const device = await registry.putDevice(request.params.deviceId, request.body, ifMatchOf(request.headers['if-match']));
      return reply.header('etag', quote(device.etag)).send(device);
    },
  );

  app.get<{ Params: DeviceParamsT }>(
    '/devices/:deviceId',
    { config: { permission: 'RegistryRead' }, schema: { tags: ['devices'], summary: 'Get a device', params: DeviceParams } },
    async (request, reply) => {
      const device = await registry.getDevice(request.params.deviceId);
      return reply.header('etag', quote(device.etag)).send(device);
    },
  );

  app.get<{ Querystring: { top?: number } }>(
    '/devices',
    { config: { permission: 'RegistryRead' }, schema: { tags: ['devices'], summary: 'List devices', querystring: ListQuery } },
    async (request) => registry.listDevices(request.query.top === undefined ? {} : { top: request.query.top }),
  );

  app.delete<{ Params: DeviceParamsT }>(
    '/devices/:deviceId',
    { config: { permission: 'RegistryWrite' }, schema: { tags: ['devices'], summary: 'Delete a device, its modules and twins', params: DeviceParams } },
    async (request, reply) => {
      await registry.deleteDevice(request.params.deviceId, ifMatchOf(request.headers['if-match']));
      return reply.code(204).send();
    },
  );

  app.post<{ Body: unknown[] }>(
    '/devices',
    { config: { permission: 'RegistryWrite' }, schema: { tags: ['devices'], summary: 'Bulk create, update or delete up to 100 devices', body: BulkBodySchema } },
    async (request) => registry.bulk(request.body),
  );

  app.get(
    '/statistics/devices',
    { config: { permission: 'RegistryRead' }, schema: { tags: ['devices'], summary: 'Device counts' } },
    async () => registry.statistics(),
  );
};

export function ifMatchOf(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value === undefined || value === '' ? undefined : value;
}

export function quote(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}
