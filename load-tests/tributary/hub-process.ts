/**
 * A Tributary ingest node in its own process, for the benches: its RSS and CPU are then the server's alone (as
 * Mosquitto's are), and the load generator does not share its event loop. Started by hub.ts, which reads one
 * `TRIBUTARY_BENCH_READY {json}` line from stdout and stops it with SIGTERM.
 *
 * It runs on the configured platform (real Kafka from TRIBUTARY_KAFKA_BROKERS), provisions the bench devices with one
 * symmetric key, makes a throw-away CA and server certificate for 127.0.0.1/localhost, then starts MQTT ingest.
 */
import { loadConfig, type Config } from '../../core/config/index.ts';
import { openPlatform, type Platform } from '../../core/platform/open-platform.ts';
import { DeviceRegistry } from '../../core/registry/index.ts';
import { createCertificateAuthority, issueCertificate } from '../../core/tls/index.ts';
import { startIngest } from '../../ingest/index.ts';
import { deviceId } from '../simulator/scenario.ts';

export interface HubProcessInput {
  hubName: string;
  /** Devices `{prefix}-{000000…count-1}` (simulator/scenario.ts deviceId): a range, since 10k ids overflow argv. */
  devices: { prefix: string; count: number };
  deviceKey: string;
  /** MQTTS port; 0 picks a free one. */
  port: number;
  /** Created and removed by the parent; shared by the two runs below. */
  dataDir: string;
  /**
   * Provision the devices and exit. The parent runs this first, in its own process, so the serving process never
   * holds provisioning's transient heap and its RSS baseline is the idle hub's (V8 rarely hands freed pages back).
   */
  provisionOnly?: boolean;
}

export interface HubProcessReady {
  port: number;
  caPem: string;
  hubName: string;
  pid: number;
}

export const READY_PREFIX = 'TRIBUTARY_BENCH_READY ';
/** Answer to a `gc` line on stdin: memory benches collect garbage before reading RSS so provisioning's heap is not counted. */
export const GC_DONE = 'TRIBUTARY_BENCH_GC_DONE';
async function startIngestNode(o: { config: Config; platform: Platform; registry: DeviceRegistry; tls: { certPem: string; keyPem: string }; port: number }): Promise<{ port: number; close(): Promise<void> }> {
  const ingest = await startIngest({ config: o.config, platform: o.platform, registry: o.registry, tls: o.tls, mqttPort: o.port, mqttHost: '127.0.0.1' });
  return { port: ingest.mqttPort, close: () => ingest.close() };
}

/** IoT Hub's bulk registry operation takes at most 100 items (core/registry/bulk.ts); the data dir is fresh, so `create`. */
async function provision(registry: DeviceRegistry, ids: string[], key: string): Promise<void> {
  for (let i = 0; i < ids.length; i += 100) {
    const items = ids.slice(i, i + 100).map((id) => ({
      id, importMode: 'create', status: 'enabled',
      authentication: { type: 'sas', symmetricKey: { primaryKey: key, secondaryKey: key } },
    }));
    const result = (await registry.bulk(items)) as unknown as { isSuccessful?: boolean; errors?: unknown[] };
    if (result.isSuccessful === false) throw new Error(`provisioning bench devices failed: ${JSON.stringify(result.errors?.slice(0, 3))}`);
  }
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as HubProcessInput;
  const dataDir = input.dataDir;
  const config = loadConfig({ env: { ...process.env, TRIBUTARY_DATA_DIR: dataDir, TRIBUTARY_HUB_NAME: 'tributary-bench', TRIBUTARY_HOST_NAMES: `${input.hubName},127.0.0.1`, TRIBUTARY_OPS_PORT: '0' } });
  const platform = await openPlatform(config);
  const registry = new DeviceRegistry({ store: platform.store, hubName: config.hubName, log: platform.log, serde: platform.serde });
  if (input.provisionOnly) {
    await registry.ensureDefaultPolicies();
    await provision(registry, Array.from({ length: input.devices.count }, (_, i) => deviceId({ deviceIdPrefix: input.devices.prefix }, i)), input.deviceKey);
    await platform.close();
    return;
  }
  const ca = await createCertificateAuthority({ commonName: 'Tributary bench CA', validityDays: 2 });
  const server = await issueCertificate({ issuer: ca, commonName: input.hubName, dnsNames: [input.hubName, 'localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  const ingest = await startIngestNode({ config, platform, registry, tls: { certPem: server.certPem, keyPem: server.keyPem }, port: input.port });
  const ready: HubProcessReady = { port: ingest.port, caPem: ca.certPem, hubName: input.hubName, pid: process.pid };
  process.stdout.write(`${READY_PREFIX}${JSON.stringify(ready)}\n`);

  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
    // The parent gone (Ctrl-C twice, crash) must not leave a hub holding ports and Kafka connections.
    process.stdin.on('end', resolve);
    let buffered = '';
    process.stdin.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === 'gc') {
          // Started with --expose-gc by hub.ts; two passes also collect what the first one's finalizers freed.
          (globalThis as { gc?: () => void }).gc?.();
          (globalThis as { gc?: () => void }).gc?.();
          process.stdout.write(`${GC_DONE}\n`);
        }
      }
    });
  });
  await ingest.close();
  await platform.close();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`tributary bench hub: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
