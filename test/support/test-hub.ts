/**
 * Starts a whole hub for end-to-end tests: temp data dir, embedded log, PGlite or a fresh PostgreSQL database, the
 * service API on 443 (the official SDK cannot use another port) with a server certificate from the test CA that the
 * test runner put in NODE_EXTRA_CA_CERTS.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../core/config/index.ts';
import { issueCertificate, type TlsIdentity } from '../../core/tls/index.ts';
import { startHub, type RunningHub } from '../../cli/hub.ts';
import { services, uniqueName } from './services.ts';

export type StoreMode = 'pglite' | 'postgres';

export interface TestHub {
  hub: RunningHub;
  close(): Promise<void>;
}

export async function testTlsIdentity(): Promise<TlsIdentity> {
  const caPath = process.env.TRIBUTARY_TEST_CA;
  const caKeyPath = process.env.TRIBUTARY_TEST_CA_KEY;
  if (!caPath || !caKeyPath) {
    throw new Error('TRIBUTARY_TEST_CA is not set: run end-to-end tests through the test runner (npm test -- <file fragment>)');
  }
  const issuer = { certPem: await readFile(caPath, 'utf8'), keyPem: await readFile(caKeyPath, 'utf8') };
  const server = await issueCertificate({ issuer, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  return { caPem: issuer.certPem, caPath, certPem: server.certPem, keyPem: server.keyPem };
}

export async function startTestHub(options: { store?: StoreMode; env?: Record<string, string> } = {}): Promise<TestHub> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-hub-'));
  let database: string | undefined;
  const env: Record<string, string> = { TRIBUTARY_DATA_DIR: dataDir, TRIBUTARY_OPS_PORT: '0', TRIBUTARY_PORTS_MQTTS: '0', ...options.env };
  if (options.store === 'postgres') {
    database = uniqueName('e2e').replaceAll('-', '_');
    await adminQuery(`create database ${database}`);
    const url = new URL(services.databaseUrl);
    url.pathname = `/${database}`;
    env.TRIBUTARY_DATABASE_URL = url.toString();
  }
  const config = loadConfig({ env });
  const hub = await startHub(config, { tls: await testTlsIdentity(), listenHost: '127.0.0.1' });
  return {
    hub,
    async close() {
      await hub.close();
      if (database) await adminQuery(`drop database if exists ${database} with (force)`);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: services.databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
