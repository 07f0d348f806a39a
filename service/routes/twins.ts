import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { authenticateServiceRequest } from '../../core/auth/index.ts';
import type { Permission, SharedAccessPolicy } from '../../core/auth/policies.ts';
import { TributaryError } from '../../core/errors/index.ts';
import type { TwinService, TwinTarget } from '../../core/twins/index.ts';
import { DeviceParams, ModuleParams } from '../schemas.ts';
import { ifMatchOf, quote } from './devices.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Twin routes: any one of these permissions suffices (checked by the plugin below, not by the server's hook). */
    anyPermission?: readonly Permission[];
  }
}

export interface TwinRoutesOptions {
  twins: TwinService;
  /** The configured host name the request was addressed to (the server's choice, shared with its own auth hook). */
  hostNameOf: (request: FastifyRequest) => string;
  lookupPolicy: (keyName: string) => Promise<SharedAccessPolicy | undefined>;
}

/**
 * IoT Hub grants twin reads to RegistryRead or ServiceConnect, and twin writes (tags, desired properties) to
 * ServiceConnect or RegistryWrite ("Control access to IoT Hub": ServiceConnect "access twins to update tags and
 * desired properties, retrieve reported properties, and run queries").
 */
const READ: readonly Permission[] = ['RegistryRead', 'ServiceConnect'];
const WRITE: readonly Permission[] = ['ServiceConnect', 'RegistryWrite'];

type ModuleParamsT = { deviceId: string; moduleId: string };

/**
 * Device and module twins: `/twins/{id}` and `/twins/{id}/modules/{mid}` (iothub-wire.md §5.2). The SDK reads the
 * etag from the body (and needs `deviceId` there); `ETag` is set as well for other clients. A stale If-Match is 412
 * PreconditionFailed, which the SDK raises as InvalidEtagError.
 */
export const twinRoutes: FastifyPluginAsync<TwinRoutesOptions> = async (app, o) => {
  app.addHook('onRequest', async (request) => {
    const allowed = request.routeOptions.config.anyPermission;
    if (!allowed) return;
    request.policy = await authenticateAny(request, allowed, o);
  });

  const target = (p: { deviceId: string; moduleId?: string }): TwinTarget => ({ deviceId: p.deviceId, moduleId: p.moduleId ?? null });
  const requestId = (request: FastifyRequest) => String(request.headers['request-id'] ?? request.id);

  for (const [path, params] of [['/twins/:deviceId', DeviceParams], ['/twins/:deviceId/modules/:moduleId', ModuleParams]] as const) {
    const what = path.includes('modules') ? 'module twin' : 'device twin';
    app.get<{ Params: ModuleParamsT }>(path, { config: { anyPermission: READ }, schema: { tags: ['twins'], summary: `Get a ${what}`, params } }, async (request, reply) => {
      const twin = await o.twins.get(target(request.params));
      return reply.header('etag', quote(twin.etag)).send(twin);
    });
    app.patch<{ Params: ModuleParamsT; Body: unknown }>(
      path,
      { config: { anyPermission: WRITE }, schema: { tags: ['twins'], summary: `Update (merge) the tags and desired properties of a ${what}; If-Match for optimistic concurrency`, params } },
      async (request, reply) => {
        const twin = await o.twins.update(target(request.params), request.body, ifMatchOf(request.headers['if-match']), requestId(request));
        return reply.header('etag', quote(twin.etag)).send(twin);
      },
    );
    app.put<{ Params: ModuleParamsT; Body: unknown }>(
      path,
      { config: { anyPermission: WRITE }, schema: { tags: ['twins'], summary: `Replace the tags and desired properties of a ${what}; If-Match for optimistic concurrency`, params } },
      async (request, reply) => {
        const twin = await o.twins.replace(target(request.params), request.body, ifMatchOf(request.headers['if-match']), requestId(request));
        return reply.header('etag', quote(twin.etag)).send(twin);
      },
    );
  }
};

/** Authenticates with the first permission the policy has; refuses like the server's hook when it has none. */
async function authenticateAny(request: FastifyRequest, allowed: readonly Permission[], o: TwinRoutesOptions): Promise<SharedAccessPolicy> {
  const options = { hostName: o.hostNameOf(request), lookupPolicy: o.lookupPolicy };
  let refusal: unknown;
  for (const required of allowed) {
    try {
      return await authenticateServiceRequest(request.headers.authorization, { ...options, required });
    } catch (err) {
      // Only "this policy lacks the permission" (details.required) is worth trying the next one for.
      if (!(err instanceof TributaryError) || err.details?.required === undefined) throw err;
      refusal = err;
    }
  }
  throw new TributaryError('IotHubUnauthorizedAccess', `the shared access policy lacks every permission this operation accepts (${allowed.join(' or ')}); use a policy that has one`, {
    details: { allowed }, cause: refusal,
  });
}
