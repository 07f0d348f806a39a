/**
 * MQTT over WebSockets at `wss://{host}:443/$iothub/websocket`, subprotocol `mqtt` (iothub-wire.md §3). It shares
 * port 443 with the service API: this attaches to that HTTPS server's `upgrade` events and takes only its own path,
 * leaving other upgrade paths to other listeners. The MQTT inside is the same as over TLS; the X.509 client
 * certificate, if any, comes from the HTTPS server's TLS socket (which must request one for X.509 over WebSockets).
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Logger } from '../../core/logging/logger.ts';
import type { Gateway } from '../gateway/gateway.ts';
import { MqttConnection, type ConnectionContext, type TransportInfo } from './connection.ts';
import { RC } from './mqtt5.ts';
import { peerCertificate } from './tls-server.ts';

export const MQTT_WEBSOCKET_PATH = '/$iothub/websocket';

export interface MqttWebSocketOptions {
  gateway: Gateway;
  logger: Logger;
  connectTimeoutMs?: number;
  /** Largest WebSocket message accepted; an MQTT packet may span frames, so this only bounds one frame. */
  maxPayloadBytes?: number;
}

export interface AttachedMqttWebSocket {
  readonly connections: ReadonlySet<MqttConnection>;
  close(): Promise<void>;
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function attachMqttWebSocket(server: HttpsServer | HttpServer, o: MqttWebSocketOptions): AttachedMqttWebSocket {
  const connections = new Set<MqttConnection>();
  // One context for every connection, as over TLS (tls-server.ts): the connection leaves the set when it closes.
  const ctx: ConnectionContext = {
    gateway: o.gateway, protocol: 'MqttWs', logger: o.logger, connectTimeoutMs: o.connectTimeoutMs ?? 30_000,
    onClosed: (conn) => connections.delete(conn),
  };
  const wss = new WebSocketServer({
    noServer: true,
    // Compression would cost a zlib context per connection; the SDK offers it but works without (RFC 7692 is optional).
    perMessageDeflate: false,
    maxPayload: o.maxPayloadBytes ?? 1024 * 1024,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(req) !== MQTT_WEBSOCKET_PATH) {
      // Another listener may own this path (AMQP over WebSockets later); with none, refuse instead of hanging.
      if (server.listenerCount('upgrade') === 1) socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const tlsSocket = req.socket as TLSSocket;
      const info: TransportInfo = { remoteAddress: req.socket.remoteAddress };
      if (typeof tlsSocket.getPeerX509Certificate === 'function') {
        const cert = peerCertificate(tlsSocket);
        if (cert) info.clientCertificate = cert;
      }
      tlsSocket.setNoDelay?.(true);
      connections.add(new MqttConnection(createWebSocketStream(ws), ctx, info));
    });
  };
  server.on('upgrade', onUpgrade);

  return {
    connections,
    async close() {
      server.off('upgrade', onUpgrade);
      for (const c of connections) c.close('the ingest node is shutting down', { code: RC.serverShuttingDown });
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
