/**
 * CONNECT → CONNACK with IoT Hub's return codes and the SDK's reading of them (iothub-wire.md §2.8):
 *   1 unacceptable protocol version (only MQTT 3.1.1)      → NotImplementedError, not retried
 *   2 identifier rejected (clientId/username malformed)    → UnauthorizedError, not retried
 *   3 server unavailable (store/registry down, throttled)  → ServiceUnavailableError, retried with backoff
 *   4 bad username or password (token/cert wrong, expired) → UnauthorizedError
 *   5 not authorised (unknown, disabled, not permitted)    → UnauthorizedError
 * On success: a CleanSession 0 client gets its stored subscriptions back (sessionPresent = 1); a CleanSession 1 client
 * ends any stored session [MQTT-3.1.2-6]. Then this connection becomes the identity's live one (older ones are kicked).
 * MQTT 5 (level 5) is accepted too, on the same topics (mqtt5.ts): the same outcomes as v5 reason codes; Clean Start
 * decides whether a stored session is resumed, a Session Expiry Interval above 0 whether it is kept (CleanSession 0).
 */
import type { IConnectPacket } from 'mqtt-packet';
import { TributaryError } from '../../core/errors/index.ts';
import type { ConnectRequest } from '../gateway/types.ts';
import { parseConnectIdentity } from './connect-identity.ts';
import type { MqttConnection } from './connection.ts';
import { restoreSubscriptions } from './handle-subscribe.ts';
import { acceptedConnack, connackReasonCode, refusedConnack, v5ConnectRefusal, v5Session } from './mqtt5.ts';
import { DEFAULT_MAX_PACKET_BYTES } from './packet-reader.ts';

type ReturnCode = 1 | 2 | 3 | 4 | 5;

function refuse(conn: MqttConnection, code: ReturnCode, reason: string, err?: unknown): void {
  conn.write(conn.v5 ? refusedConnack(connackReasonCode(code, err), reason) : { cmd: 'connack', returnCode: code, sessionPresent: false });
  conn.close(`CONNECT refused with ${code}: ${reason}`);
}

function returnCodeFor(err: unknown): ReturnCode {
  if (err instanceof TributaryError) {
    if (err.code === 'IotHubUnauthorizedAccess') return err.details?.refusal === 'notAuthorized' ? 5 : 4;
    if (err.code === 'DeviceNotFound' || err.code === 'ModuleNotFound' || err.code === 'ArgumentInvalid') return 5;
    if (err.retriable) return 3;
  }
  return 3;
}

export function handleConnect(conn: MqttConnection, packet: IConnectPacket): void {
  if (packet.protocolVersion === 5) {
    conn.v5 = v5Session(packet);
    const refusal = v5ConnectRefusal(packet);
    if (refusal) {
      conn.write(refusedConnack(refusal.code, refusal.reason));
      return conn.close(`CONNECT refused with ${refusal.code}: ${refusal.reason}`);
    }
  } else if (packet.protocolVersion !== 4) {
    return refuse(conn, 1, `protocol level ${String(packet.protocolVersion)}; the hub speaks MQTT 3.1.1 (level 4) and 5`);
  }
  const parsed = parseConnectIdentity(packet.clientId, packet.username);
  if (!parsed.ok) return refuse(conn, 2, parsed.reason);
  const { identity: claimed } = parsed;
  conn.clientId = packet.clientId;
  // 3.1.1 CleanSession, or v5 Clean Start: whether a stored session is resumed.
  const startClean = packet.clean !== false;
  // Whether the subscriptions outlive the connection: CleanSession 0, or a v5 Session Expiry Interval above 0.
  conn.clean = conn.v5 ? conn.v5.sessionExpiry === 0 : startClean;
  conn.modelId = claimed.modelId;
  if (packet.will) {
    conn.will = { topic: packet.will.topic, payload: Buffer.from(packet.will.payload), retain: packet.will.retain === true };
  }

  const req: ConnectRequest = { protocol: conn.ctx.protocol, hostName: claimed.hostName, deviceId: claimed.deviceId };
  if (claimed.moduleId) req.moduleId = claimed.moduleId;
  if (packet.password !== undefined) req.sasToken = packet.password.toString('utf8');
  else if (conn.transport.clientCertificate) req.clientCertificate = conn.transport.clientCertificate;

  conn.block();
  void (async () => {
    let identity;
    try {
      identity = await conn.gateway.authenticate(req);
    } catch (err) {
      if (conn.closed) return;
      const code = returnCodeFor(err);
      if (code === 3) conn.log.warn({ err, device: conn.clientId }, 'authentication could not be completed');
      return refuse(conn, code, (err as Error).message, err);
    }
    if (conn.closed) return;
    let sessionPresent = false;
    try {
      if (!startClean) {
        const stored = await conn.gateway.sessions.load(conn.clientId);
        sessionPresent = stored !== undefined;
        if (stored) restoreSubscriptions(conn, identity, stored);
      }
      // (3.1.1: exactly one of load and remove. v5 Clean Start 0 with Session Expiry 0 resumes and ends the session.)
      if (conn.clean) await conn.gateway.sessions.remove(conn.clientId);
    } catch (err) {
      if (conn.closed) return;
      conn.log.warn({ err, device: conn.clientId }, 'session state unavailable');
      return refuse(conn, 3, `session state unavailable: ${(err as Error).message}`);
    }
    if (conn.closed) return;
    const handle = conn.startSession(identity, packet.keepalive ?? 0);
    conn.write(conn.v5
      ? acceptedConnack(sessionPresent, packet.keepalive ?? 0, conn.ctx.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES)
      : { cmd: 'connack', returnCode: 0, sessionPresent });
    conn.gateway.connections.register(handle);
    // Checked first: `conn.log` creates the connection's child logger, which an idle connection should not carry.
    if (conn.ctx.logger.isLevelEnabled('debug')) conn.log.debug({ device: conn.clientId, clean: conn.clean, sessionPresent, subscriptions: conn.subscriptions.size }, 'connected');
    conn.unblock();
  })();
}
