/**
 * The service REST API (DESIGN.md §1, iothub-wire.md §5): IoT Hub's paths and JSON shapes over HTTPS, so the
 * official `azure-iothub` SDK works with nothing changed but its connection string. fastify, one plugin per resource.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Permission, SharedAccessPolicy } from '../core/auth/policies.ts';
import { authenticateServiceRequest, type CaCertificateStore } from '../core/auth/index.ts';
import { TributaryError } from '../core/errors/index.ts';
import { componentLogger, type Logger } from '../core/logging/logger.ts';
import type { DeviceRegistry } from '../core/registry/index.ts';
import { checkApiVersion, DEFAULT_API_VERSION } from './api-version.ts';
import { sendError, toServiceError } from './error-body.ts';
import { deviceRoutes } from './routes/devices.ts';
import { moduleRoutes } from './routes/modules.ts';
import { certificateRoutes } from './routes/certificates.ts';
import { routingRoutes } from './routes/routing.ts';
import type { RouteStore } from '../processors/router/routes.ts';
import type { TwinService } from '../core/twins/index.ts';
import { twinRoutes } from './routes/twins.ts';
import { queryRoutes } from './query/route.ts';
import type { Queryable } from '../core/store/types.ts';

export interface ServiceApiOptions {
  registry: DeviceRegistry;
  /** CA certificates for X.509 CA-signed devices (`/certificates`). */
  certificates: CaCertificateStore;
  /** Message routing (`/routes`, `/fallbackRoute`, `/endpoints`); omitted where no router runs. */
  routes?: RouteStore;
  /** Device and module twins (`/twins/{id}`, `/twins/{id}/modules/{mid}`); omitted where twins are not served. */
  twins?: TwinService;
  /** Where twin queries run (`POST /devices/query`, the store holding twins); omitted where queries are not served. */
  twinQueries?: Queryable;
  /** Host names the hub answers to; a service token's `sr` must name one of them (the SDK uses HostName as-is). */
  hostNames: readonly string[];
  /** Serve HTTPS with this certificate (the SDK only speaks HTTPS); omitted for inject() tests and TLS offload. */
  tls?: { certPem: string; keyPem: string };
  logger?: Logger;
  /** Largest accepted request body; IoT Hub's bulk requests stay well under 1 MiB. */
  bodyLimit?: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The shared-access permission the route needs; routes without one are public (the OpenAPI document). */
    permission?: Permission;
  }
  interface FastifyRequest {
    policy?: SharedAccessPolicy;
  }
}

/** Where the OpenAPI document is served. */
export const OPENAPI_PATH = '/openapi.json';

export async function buildServiceApi(options: ServiceApiOptions): Promise<FastifyInstance> {
  const logger = options.logger ?? componentLogger('service-api');
  const app = Fastify({
    // requestCert: X.509 devices over MQTT/WebSockets share this port and present their certificate in the handshake;
    // it is checked by the ingest gateway, not by TLS (rejectUnauthorized false), and service clients simply send none.
    ...(options.tls ? { https: { cert: options.tls.certPem, key: options.tls.keyPem, requestCert: true, rejectUnauthorized: false } } : {}),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // The SDK's Request-Id header becomes fastify's request id, so logs and error bodies carry the caller's id.
    requestIdHeader: 'request-id',
    logger: false,
    // Device ids may contain characters fastify would otherwise treat specially; IoT Hub ids are at most 128 chars.
    routerOptions: { maxParamLength: 512, ignoreTrailingSlash: true },
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Tributary service API', version: DEFAULT_API_VERSION, description: 'IoT Hub-compatible service REST API. Authenticate with a shared-access-policy SAS token in the Authorization header.' },
      components: { securitySchemes: { sas: { type: 'apiKey', in: 'header', name: 'Authorization' } } },
      security: [{ sas: [] }],
    },
  });

  app.setErrorHandler((err, request, reply) => sendError(toServiceError(err), request, reply, logger));
  app.setNotFoundHandler((request, reply) =>
    sendError(new TributaryError('ArgumentInvalid', `no such resource: ${request.method} ${request.url.split('?')[0]}`), request, reply, logger),
  );

  const lookupPolicy = (keyName: string) => options.registry.getPolicy(keyName);
  app.addHook('onRequest', async (request) => {
    checkApiVersion((request.query as Record<string, unknown>)['api-version']);
    const required = request.routeOptions.config.permission;
    if (!required) return;
    const hostName = pickHostName(request.hostname, options.hostNames);
    request.policy = await authenticateServiceRequest(request.headers.authorization, { hostName, required, lookupPolicy });
  });

  await app.register(deviceRoutes, { registry: options.registry });
  await app.register(moduleRoutes, { registry: options.registry });
  await app.register(certificateRoutes, { certificates: options.certificates });
  if (options.routes) await app.register(routingRoutes, { routes: options.routes });
  if (options.twins) {
    await app.register(twinRoutes, { twins: options.twins, lookupPolicy, hostNameOf: (request) => pickHostName(request.hostname, options.hostNames) });
  }
  if (options.twinQueries) await app.register(queryRoutes, { store: options.twinQueries });
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
  return app;
}

/** The configured host name the request was addressed to (Host header without port), else the first one. */
function pickHostName(requestHost: string, hostNames: readonly string[]): string {
  const host = requestHost.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return hostNames.find((h) => h.toLowerCase() === host) ?? hostNames[0] ?? host;
}
