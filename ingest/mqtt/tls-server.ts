/**
 * MQTT over TLS (iothub-wire.md §1.2: port 8883 unless the device's GatewayHostName names another). TLS asks for a
 * client certificate but does not require or judge it: X.509 devices are checked by the gateway against the registry
 * (thumbprint or verified CA, wire §1.4) and SAS devices send none.
 */
import { X509Certificate } from 'node:crypto';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from '../../core/logging/logger.ts';
import type { Gateway } from '../gateway/gateway.ts';
import { MqttConnection, type TransportInfo } from './connection.ts';

export interface MqttTlsServerOptions {
  gateway: Gateway;
  tls: { certPem: string; keyPem: string };
  /** 0 picks a free port. */
  port: number;
  host?: string;
  logger: Logger;
  connectTimeoutMs?: number;
}

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
  const server: Server = createServer({
    cert: o.tls.certPem,
    key: o.tls.keyPem,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  }, (socket) => {
    socket.setNoDelay(true);
    const conn = new MqttConnection(socket, {
      gateway: o.gateway, protocol: 'Mqtt', logger: o.logger, connectTimeoutMs: o.connectTimeoutMs ?? 30_000,
    }, transportInfo(socket));
    connections.add(conn);
    socket.once('close', () => connections.delete(conn));
  });
  server.on('tlsClientError', (err) => o.logger.debug({ err: err.message }, 'TLS handshake failed'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
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
      for (const c of connections) c.close('the ingest node is shutting down');
      await closed;
    },
  };
}
