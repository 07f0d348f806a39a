/**
 * The hub in one process: the platform (log, store, schemas), the identity registry and its policies, the hub's TLS
 * identity, the service REST API on HTTPS and the ops endpoint. `tributary start` runs it with the configuration;
 * end-to-end tests run it with a temp data dir and a certificate from the test CA.
 */
import type { Config } from '../core/config/index.ts';
import { CaCertificateStore, serviceConnectionString } from '../core/auth/index.ts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { componentLogger } from '../core/logging/logger.ts';
import { collectProcessMetrics } from '../core/metrics/registry.ts';
import { openPlatform, type Platform } from '../core/platform/open-platform.ts';
import { DeviceRegistry } from '../core/registry/index.ts';
import { ensureHubTlsIdentity, type TlsIdentity } from '../core/tls/index.ts';
import { startOpsServer, type OpsServer } from '../service/ops-server.ts';
import { buildServiceApi } from '../service/server.ts';
import { RouteStore } from '../processors/router/routes.ts';
import { createRouter } from '../processors/router/router.ts';
import { enrichProcessor } from '../processors/enrich/enrich.ts';
import { runProcessor } from '../processors/runtime/run-processor.ts';
import { twinsProcessor } from '../processors/twins/twins.ts';
import { TwinService } from '../core/twins/index.ts';
import { hostname } from 'node:os';
import { startIngest, type RunningIngest } from '../ingest/index.ts';
import type { GatewayLimits } from '../ingest/gateway/types.ts';
import type { Server as HttpsServer } from 'node:https';
import { CONNECTION_STRING_FILE } from './service-client.ts';
import { startEndpointSupervisor, type EndpointSupervisor } from '../connectors/index.ts';

export interface RunningHub {
  readonly config: Config;
  readonly platform: Platform;
  readonly registry: DeviceRegistry;
  readonly certificates: CaCertificateStore;
  readonly tls: TlsIdentity;
  /** Port the service API (HTTPS) listens on; 443 unless configured otherwise. */
  readonly httpsPort: number;
  readonly opsPort: number;
  /** The MQTT/TLS port devices connect to (8883 unless configured); absent when this process runs no ingest role. */
  readonly mqttPort: number | undefined;
  readonly ingest: RunningIngest | undefined;
  /** The endpoint connectors (`connectors` role): one per routing endpoint, following route changes. */
  readonly connectors: EndpointSupervisor | undefined;
  /** `HostName=…;SharedAccessKeyName=iothubowner;SharedAccessKey=…` for the official service SDK. */
  readonly serviceConnectionString: string;
  close(): Promise<void>;
}

const logger = componentLogger('hub');

export async function startHub(config: Config, options: { tls?: TlsIdentity; listenHost?: string } = {}): Promise<RunningHub> {
  const platform = await openPlatform(config);
  const closers: Array<() => Promise<void>> = [() => platform.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch((err: unknown) => logger.warn({ err }, 'close failed'));
  };
  try {
    const registry = new DeviceRegistry({ store: platform.store, hubName: config.hubName, log: platform.log, serde: platform.serde });
    const policies = await registry.ensureDefaultPolicies();
    const owner = policies.find((p) => p.keyName === 'iothubowner');
    if (!owner) throw new Error('the iothubowner policy is missing after ensureDefaultPolicies');

    const tls = options.tls ?? (await ensureHubTlsIdentity({ dataDir: platform.dataDir, hostNames: config.hostNames, ...tlsFiles(config) }));
    const certificates = new CaCertificateStore(platform.store);
    const routes = new RouteStore(platform.store);
    const twins = new TwinService({ store: platform.store, log: platform.log, serde: platform.serde });
    const api = await buildServiceApi({ registry, certificates, routes, twins, twinQueries: platform.store, hostNames: config.hostNames, tls: { certPem: tls.certPem, keyPem: tls.keyPem } });
    closers.push(() => api.close());
    await api.listen({ port: config.ports.https, host: options.listenHost ?? '0.0.0.0' });
    const httpsPort = (api.server.address() as { port: number }).port;

    // Ingest shares the TLS identity and port 443 (MQTT over WebSockets) with the service API.
    const ingest = config.roles.includes('ingest')
      ? await startIngest({ config, platform, registry, caStore: certificates, tls, httpsServer: api.server as HttpsServer, limits: gatewayLimits(config) })
      : undefined;
    if (ingest) closers.push(() => ingest.close());

    // The middle of the pipeline: enrich (identity and twin lookups, enrichments) then the router (routes → endpoint
    // topics, fallback → events). Consumer groups are shared by every process running the role.
    if (config.roles.includes('processors')) {
      const { log, serde, store } = platform;
      const enrich = await runProcessor(enrichProcessor({ store, registry, log, instanceId: `${hostname()}-${process.pid}` }), { log, serde, config: { hubName: config.hubName } });
      closers.push(() => enrich.stop());
      const router = await runProcessor(createRouter({ routes, log }), { log, serde, config: {} });
      closers.push(() => router.stop());
      // Twin requests of devices (GET, reported PATCH) and jobs, in per-device order; answers go back via iot.cloud.commands.
      const twinsRole = await runProcessor(twinsProcessor({ store }), { log, serde, config: {} });
      closers.push(() => twinsRole.stop());
    }

    // The sinks: one connector per routing endpoint (and `events` → ClickHouse when clickhouse.url is set), reloaded
    // when endpoints change. Consumer groups per endpoint are shared by every process running the role.
    const connectors = config.roles.includes('connectors')
      ? await startEndpointSupervisor({
        log: platform.log,
        serde: platform.serde,
        routes,
        hub: { hubName: config.hubName, dataDir: platform.dataDir, clickhouse: config.clickhouse, amqp: config.amqp },
      })
      : undefined;
    if (connectors) closers.push(() => connectors.stop());

    collectProcessMetrics();
    const ops: OpsServer = await startOpsServer({
      port: config.ops.port,
      checks: {
        log: async () => void (await platform.log.listTopics()),
        store: async () => void (await platform.store.query('select 1')),
        registry: async () => void (await platform.registry.latest('iot.device.messages-value')),
      },
    });
    closers.push(() => ops.close());

    const connectionString = serviceConnectionString({ hostName: config.hostNames[0] ?? 'localhost', policy: owner });
    // For `tributary connection-string` and the other CLI commands on this machine; the key never goes to a log.
    await writeFile(join(platform.dataDir, CONNECTION_STRING_FILE), `${connectionString}\n`, { mode: 0o600 });

    return {
      config,
      platform,
      registry,
      certificates,
      tls,
      httpsPort,
      opsPort: ops.port,
      mqttPort: ingest?.mqttPort,
      ingest,
      connectors,
      serviceConnectionString: connectionString,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function tlsFiles(config: Config): { certFile?: string; keyFile?: string; caFile?: string } {
  const { certFile, keyFile, caFile } = config.tls;
  return { ...(certFile ? { certFile } : {}), ...(keyFile ? { keyFile } : {}), ...(caFile ? { caFile } : {}) };
}

/** `limits.*` of the configuration as the gateway's throttles (absent settings: no throttle). */
export function gatewayLimits(config: Config): Partial<GatewayLimits> {
  const { d2cMessagesPerSecond, connectionsPerSecond, deviceMessagesPerSecond, shapingWindowMs } = config.limits;
  return {
    maxShapingDelayMs: shapingWindowMs,
    ...(d2cMessagesPerSecond !== undefined ? { hubMessages: { ratePerSecond: d2cMessagesPerSecond } } : {}),
    ...(connectionsPerSecond !== undefined ? { hubConnections: { ratePerSecond: connectionsPerSecond } } : {}),
    ...(deviceMessagesPerSecond !== undefined ? { deviceMessages: { ratePerSecond: deviceMessagesPerSecond } } : {}),
  };
}
