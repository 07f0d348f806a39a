/**
 * MQTT over TLS (iothub-wire.md §1.2: port 8883 unless the device's GatewayHostName names another). TLS asks for a
 * client certificate but does not require or judge it: X.509 devices are checked by the gateway against the registry
 * (thumbprint or verified CA, wire §1.4) and SAS devices send none.
 */
import { X509Certificate } from 'node:crypto';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from '../../core/logging/logger.ts';
import type { Gateway } from '../gateway/gateway.ts';
import { GATED_TLS_SERVER_OPTIONS, gateTlsServer } from './handshake-gate.ts';
import { MqttConnection, type ConnectionContext, type TransportInfo } from './connection.ts';
import { RC } from './mqtt5.ts';

export interface MqttTlsServerOptions {
  gateway: Gateway;
  tls: { certPem: string; keyPem: string };
  /** 0 picks a free port. */
  port: number;
  host?: string;
  logger: Logger;
  connectTimeoutMs?: number;
  /** TLS handshakes in progress at once and how long one may hold its turn (handshake-gate.ts). */
  handshakes?: { maxActive?: number; slotMs?: number };
}

const LISTEN_BACKLOG = 4096;

export interface RunningMqttServer {
  readonly port: number;
  readonly connections: ReadonlySet<MqttConnection>;
  close(): Promise<void>;
}

/** The client certificate a TLS socket presented (leaf + the intermediates it sent), as PEM. */
export function peerCertificate(socket: TLSSocket): TransportInfo['clientCertificate'] {
  const leaf = socket.getPeerX509Certificate();
  if (leaf === undefined) return undefined;
  const intermediatePems: string[] = [];
  let link = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  // Node links the presented chain through issuerCertificate; a self-issued link points at itself.
  while (link?.issuerCertificate && link.issuerCertificate !== link && !seen.has(link.issuerCertificate.fingerprint256)) {
    const issuer = link.issuerCertificate;
    seen.add(issuer.fingerprint256);
    try {
      intermediatePems.push(new X509Certificate(issuer.raw).toString());
    } catch {
      break;
    }
    link = issuer;
  }
  return { leafPem: leaf.toString(), intermediatePems };
}

export function transportInfo(socket: TLSSocket): TransportInfo {
  const info: TransportInfo = { remoteAddress: socket.remoteAddress };
  const cert = peerCertificate(socket);
  if (cert) info.clientCertificate = cert;
  return info;
}

export async function startMqttTlsServer(o: MqttTlsServerOptions): Promise<RunningMqttServer> {
  const connections = new Set<MqttConnection>();
  // One context for every connection of this server (not an object and a 'close' closure per connection).
  const ctx: ConnectionContext = {
    gateway: o.gateway, protocol: 'Mqtt', logger: o.logger, connectTimeoutMs: o.connectTimeoutMs ?? 30_000,
    onClosed: (conn) => connections.delete(conn),
  };
  // Memory per idle connection (issue 5) is mostly Node's and OpenSSL's own: a bare tls.createServer holds ~28 KiB per
  // idle TLS 1.3 connection (SSL object, cipher contexts, a 64 KiB read buffer Node keeps, two JS sockets). Measured at
  // 10,000 connections, neither session tickets off, TLS 1.2 only, another cipher nor glibc malloc settings
  // (MALLOC_ARENA_MAX, trim/mmap thresholds) change that by more than ~1.5 KiB, so the defaults stay. Of the hub's
  // ~19–22 KiB per idle connection at 10,000, ~17.5 KiB is native malloc memory (smaps: the brk heap) and ~2–7 KiB the
  // V8 heap, of which about 1 KiB is Tributary's objects (connections-memory bench prints the split).
  const server: Server = createServer({
    cert: o.tls.certPem,
    key: o.tls.keyPem,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    // The handshake gate enforces the handshake deadline with one timer for all sockets (handshake-gate.ts).
    ...GATED_TLS_SERVER_OPTIONS,
  }, (socket) => {
    socket.setNoDelay(true);
    connections.add(new MqttConnection(socket, ctx, transportInfo(socket)));
  });
  server.on('tlsClientError', (err) => o.logger.debug({ err: err.message }, 'TLS handshake failed'));
  const gate = gateTlsServer(server, o.handshakes);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Node's default backlog (511) fills in half a second of a 1,000/s burst whenever the event loop is busy, and the
    // kernel then drops SYNs: the client retries after 1 s, 3 s, 7 s … (the kernel caps this at net.core.somaxconn).
    server.listen({ port: o.port, host: o.host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : o.port;
  o.logger.info({ port }, 'MQTT over TLS listening');
  return {
    port,
    connections,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      gate.close();
      for (const c of connections) c.close('the ingest node is shutting down', { code: RC.serverShuttingDown });
      await closed;
    },
  };
}
