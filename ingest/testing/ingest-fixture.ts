/**
 * An ingest node for end-to-end tests: EmbeddedLog + in-process schema registry (test/support/embedded-platform.ts),
 * PGlite with every migration, the real DeviceRegistry and CaCertificateStore, and a server certificate from the test
 * CA the runner put in NODE_EXTRA_CA_CERTS — so the official SDK trusts it without any option.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server as HttpsServer } from 'node:https';
import { CaCertificateStore } from '../../core/auth/ca-certificates.ts';
import { coreTopicSpecs, TOPICS } from '../../core/log/topics.ts';
import type { Log } from '../../core/log/types.ts';
import { DeviceRegistry, type DeviceJson } from '../../core/registry/index.ts';
import type { AvroSerde } from '../../core/serde/avro-serde.ts';
import type { DeviceMessage } from '../../core/serde/records.ts';
import { openStore } from '../../core/store/index.ts';
import type { Store } from '../../core/store/types.ts';
import { issueCertificate, type CertificateAndKey } from '../../core/tls/index.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { startIngest, type RunningIngest, type StartIngestOptions } from '../index.ts';

export const HOST = 'localhost';

export async function testCa(): Promise<CertificateAndKey> {
  const caPath = process.env.TRIBUTARY_TEST_CA;
  const keyPath = process.env.TRIBUTARY_TEST_CA_KEY;
  if (!caPath || !keyPath) throw new Error('TRIBUTARY_TEST_CA is not set: run through the test runner (node --import tsx test/run.ts <fragment>)');
  return { certPem: await readFile(caPath, 'utf8'), keyPem: await readFile(keyPath, 'utf8') };
}

export async function serverIdentity(): Promise<CertificateAndKey> {
  return issueCertificate({ issuer: await testCa(), commonName: HOST, dnsNames: [HOST], ipAddresses: ['127.0.0.1'], usage: 'server' });
}

export interface IngestFixture {
  platform: EmbeddedPlatform;
  store: Store;
  registry: DeviceRegistry;
  caStore: CaCertificateStore;
  tls: CertificateAndKey;
  ingest: RunningIngest;
  httpsServer: HttpsServer | undefined;
  /** `HostName=localhost;DeviceId=…;SharedAccessKey=…;GatewayHostName=localhost:<port>` */
  deviceConnectionString(device: DeviceJson, o?: { moduleId?: string; key?: string; gateway?: boolean }): string;
  createSasDevice(deviceId: string): Promise<DeviceJson>;
  /** Decoded records of iot.device.messages once `count` arrived (reads from the beginning). */
  readMessages(count: number): Promise<DeviceMessage[]>;
  /** Starts another ingest node on the same log/store/registry (sessions across nodes). */
  startNode(o?: Partial<StartIngestOptions>): Promise<RunningIngest>;
  close(): Promise<void>;
}

export async function decodeMessages(serde: AvroSerde, values: Array<Buffer | null>): Promise<DeviceMessage[]> {
  return Promise.all(values.map((v) => serde.decode<DeviceMessage>(v ?? Buffer.alloc(0), TOPICS.deviceMessages)));
}

export async function openIngestFixture(o: { websocketPort?: number; ingest?: Partial<StartIngestOptions> } = {}): Promise<IngestFixture> {
  const platform = await openEmbeddedPlatform();
  await platform.log.createTopics(coreTopicSpecs(2));
  const store = await openStore({ dataDir: platform.dataDir });
  const registry = new DeviceRegistry({ store, hubName: 'tributary-test' });
  await registry.ensureDefaultPolicies();
  const caStore = new CaCertificateStore(store);
  const tls = await serverIdentity();
  let httpsServer: HttpsServer | undefined;
  if (o.websocketPort !== undefined) {
    // Stands in for the service API's fastify server: requestCert so X.509 works over WebSockets too.
    httpsServer = createServer({ cert: tls.certPem, key: tls.keyPem, requestCert: true, rejectUnauthorized: false }, (_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    await listenWithRetry(httpsServer, o.websocketPort);
  }
  const nodes: RunningIngest[] = [];
  const startNode = async (extra: Partial<StartIngestOptions> = {}) => {
    const node = await startIngest({
      config: { hostNames: [HOST, '127.0.0.1'], ports: { https: 443, mqtts: 0 } },
      platform: { log: platform.log as Log, store, serde: platform.serde },
      registry, caStore, tls, mqttPort: 0, mqttHost: '127.0.0.1',
      limits: { registryFlushMs: 200 },
      ...o.ingest,
      ...extra,
    });
    nodes.push(node);
    return node;
  };
  const ingest = await startNode(httpsServer ? { httpsServer } : {});
  return {
    platform, store, registry, caStore, tls, ingest, httpsServer,
    deviceConnectionString(device, c = {}) {
      const key = c.key ?? device.authentication.symmetricKey.primaryKey ?? '';
      const gateway = c.gateway === false ? '' : `;GatewayHostName=${HOST}:${ingest.mqttPort}`;
      return `HostName=${HOST};DeviceId=${device.deviceId}${c.moduleId ? `;ModuleId=${c.moduleId}` : ''};SharedAccessKey=${key}${gateway}`;
    },
    createSasDevice: (deviceId) => registry.putDevice(deviceId, { deviceId }),
    async readMessages(count) {
      const records = await platform.readTopic(TOPICS.deviceMessages, count);
      return decodeMessages(platform.serde, records.map((r) => r.value));
    },
    startNode,
    async close() {
      for (const n of nodes.reverse()) await n.close();
      if (httpsServer) await new Promise<void>((r) => httpsServer.close(() => r()));
      await store.close();
      await platform.close();
    },
  };
}

/** Port 443 may be held briefly by another e2e file's hub that is still shutting down. */
async function listenWithRetry(server: HttpsServer, port: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 60) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
