/**
 * One MQTT connection (over TLS or a WebSocket stream): the state machine and the plumbing the packet handlers share.
 *
 *   awaitingConnect ──CONNECT ok──▶ connected ──DISCONNECT / error / kicked / timeout──▶ closed
 *          └──────────── anything else, or no CONNECT in time ──────────────────────────▶ closed
 *
 * Inbound packets are handled in order. A handler that must finish something asynchronous before the next packet
 * may be looked at (authentication, a session write, a throttling delay) *blocks* the connection: later packets
 * queue, and the socket is paused so the queue stays small. Separately, publishes awaiting the log count as in
 * flight; above the per-connection or per-node limit the socket is paused until they drain (DESIGN.md §6: stop
 * reading sockets instead of buffering). Malformed bytes or a protocol violation close this connection only.
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../core/logging/logger.ts';
import type { CloudCommand } from '../../core/serde/records.ts';
import type { Gateway } from '../gateway/gateway.ts';
import type { ConnectionHandle, DeviceIdentity } from '../gateway/types.ts';
import { handleConnect } from './handle-connect.ts';
import { handlePublish, publishWill } from './handle-publish.ts';
import { handleSubscribe, handleUnsubscribe, type ActiveSubscription } from './handle-subscribe.ts';
import { Outbound } from './outbound.ts';
import { encodePacket, PacketReader, type Packet } from './packet-reader.ts';

export type MqttProtocol = 'Mqtt' | 'MqttWs';

export interface ConnectionContext {
  gateway: Gateway;
  protocol: MqttProtocol;
  logger: Logger;
  /** Time allowed between the transport opening and CONNECT. */
  connectTimeoutMs: number;
  maxPacketBytes?: number;
}

export interface TransportInfo {
  remoteAddress: string | undefined;
  /** The TLS client certificate, when one was presented. */
  clientCertificate?: { leafPem: string; intermediatePems: string[] };
}

type State = 'awaitingConnect' | 'connected' | 'closed';

/** IoT Hub treats a client as gone after 1.5 × its keep-alive, at most 1767 s (iothub-wire.md §2.8, §7.1). */
export function keepAliveTimeoutMs(keepaliveSeconds: number): number {
  const cap = 1767_000;
  return keepaliveSeconds > 0 ? Math.min(cap, keepaliveSeconds * 1500) : cap;
}

export class MqttConnection {
  readonly id = randomUUID();
  state: State = 'awaitingConnect';
  identity: DeviceIdentity | undefined;
  clientId = '';
  clean = true;
  modelId: string | undefined;
  handle: ConnectionHandle | undefined;
  will: { topic: string; payload: Buffer; retain: boolean } | undefined;
  readonly subscriptions = new Map<string, ActiveSubscription>();
  readonly outbound: Outbound;
  readonly log: Logger;
  /** Publishes of this connection awaiting the log. */
  inflight = 0;
  /** Tail of the PUBACK chain: QoS 1 acknowledgements go out in the order the publishes arrived [MQTT-4.6.0-2]. */
  ackTail: Promise<void> = Promise.resolve();
  private readonly reader: PacketReader;
  private readonly queue: Packet[] = [];
  private blocked = false;
  private readonly pauseReasons = new Set<'blocked' | 'inflight'>();
  private waitingForNode = false;
  private lastSeen = Date.now();
  private keepAliveMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private gracefulDisconnect = false;
  /** Encoded packets written in this turn of the event loop; flushed together (see write). */
  private outgoing: Buffer[] = [];
  private flushScheduled = false;

  constructor(readonly stream: Duplex, readonly ctx: ConnectionContext, readonly transport: TransportInfo) {
    this.log = ctx.logger.child({ conn: this.id, remote: transport.remoteAddress });
    this.outbound = new Outbound(this);
    this.reader = new PacketReader((p) => this.onPacket(p), (err) => this.close(`malformed packet: ${err.message}`), ctx.maxPacketBytes);
    stream.on('data', (chunk: Buffer) => this.reader.push(chunk));
    stream.on('error', (err) => this.close(`transport error: ${err.message}`));
    stream.on('close', () => this.close('the client closed the connection'));
    stream.on('end', () => this.close('the client ended the connection'));
    this.timer = setTimeout(() => this.close('no CONNECT within the connect timeout'), ctx.connectTimeoutMs);
  }

  /** A method, not `state === 'closed'`, so callers re-read it after an await (TS would keep the narrowed type). */
  get closed(): boolean {
    return this.state === 'closed';
  }

  get gateway(): Gateway {
    return this.ctx.gateway;
  }

  // ---- inbound ---------------------------------------------------------------------------------------------------

  private onPacket(packet: Packet): void {
    this.lastSeen = Date.now();
    if (this.blocked) this.queue.push(packet);
    else this.dispatch(packet);
  }

  private dispatch(packet: Packet): void {
    if (this.state === 'closed') return;
    if (this.state === 'awaitingConnect') {
      if (packet.cmd !== 'connect') return this.close(`first packet was ${packet.cmd}, not CONNECT [MQTT-3.1.0-1]`);
      return handleConnect(this, packet);
    }
    switch (packet.cmd) {
      case 'publish': return handlePublish(this, packet);
      case 'puback': return this.outbound.acknowledged(packet.messageId ?? 0);
      case 'subscribe': return handleSubscribe(this, packet);
      case 'unsubscribe': return handleUnsubscribe(this, packet);
      case 'pingreq':
        if (this.identity) this.gateway.touch(this.identity);
        return this.write({ cmd: 'pingresp' });
      case 'disconnect':
        this.gracefulDisconnect = true;
        return this.close('the client disconnected');
      case 'connect': return this.close('second CONNECT on one connection [MQTT-3.1.0-2]');
      default: return this.close(`unexpected ${packet.cmd} packet from a client (QoS 2 flows are not supported)`);
    }
  }

  /** Holds later packets until `unblock`; the socket pauses so they cannot pile up. */
  block(): void {
    this.blocked = true;
    this.setPaused('blocked', true);
  }

  unblock(): void {
    this.blocked = false;
    this.setPaused('blocked', false);
    while (!this.blocked && this.queue.length > 0 && this.state !== 'closed') {
      const next = this.queue.shift();
      if (next) this.dispatch(next);
    }
  }

  // ---- backpressure ----------------------------------------------------------------------------------------------

  /** Runs `p` as one in-flight publish: pauses reading above the limits, resumes once drained. */
  trackPublish<T>(p: Promise<T>): Promise<T> {
    this.inflight++;
    if (this.inflight >= this.gateway.limits.maxInflightPerConnection || this.gateway.saturated) this.setPaused('inflight', true);
    const done = () => {
      this.inflight--;
      if (this.pauseReasons.has('inflight') && this.inflight <= this.gateway.limits.maxInflightPerConnection / 2) this.resumeWhenNodeDrained();
    };
    p.then(done, done);
    return p;
  }

  private resumeWhenNodeDrained(): void {
    if (this.waitingForNode) return;
    this.waitingForNode = true;
    this.gateway.whenDrained(() => {
      this.waitingForNode = false;
      this.setPaused('inflight', false);
    });
  }

  private setPaused(reason: 'blocked' | 'inflight', on: boolean): void {
    if (on) this.pauseReasons.add(reason);
    else this.pauseReasons.delete(reason);
    if (this.state === 'closed') return;
    if (this.pauseReasons.size > 0) this.stream.pause();
    else this.stream.resume();
  }

  // ---- connected -------------------------------------------------------------------------------------------------

  /** Called by the CONNECT handler once the identity is accepted. */
  startSession(identity: DeviceIdentity, keepaliveSeconds: number): ConnectionHandle {
    this.identity = identity;
    this.state = 'connected';
    this.keepAliveMs = keepAliveTimeoutMs(keepaliveSeconds);
    this.armKeepAlive();
    if (identity.expiresAt !== undefined) {
      // IoT Hub drops a SAS connection when its token expires; the SDK renews well before (wire §1.3).
      const ms = Math.min(2_147_000_000, Math.max(0, identity.expiresAt * 1000 - Date.now()));
      this.expiryTimer = setTimeout(() => this.close('the SAS token expired; reconnect with a new token'), ms);
    }
    const handle: ConnectionHandle = {
      connectionId: this.id,
      identity,
      protocol: this.ctx.protocol,
      remoteAddress: this.transport.remoteAddress,
      modelId: this.modelId,
      connectedAt: Date.now(),
      deliver: (command: CloudCommand) => this.outbound.deliver(command),
      close: (reason, options) => this.close(reason, options),
    };
    this.handle = handle;
    return handle;
  }

  private armKeepAlive(): void {
    if (this.timer) clearTimeout(this.timer);
    const remaining = this.keepAliveMs - (Date.now() - this.lastSeen);
    if (remaining <= 0) return this.close(`no packet within 1.5 × keep-alive (${this.keepAliveMs / 1000} s)`);
    this.timer = setTimeout(() => this.armKeepAlive(), remaining);
  }

  /**
   * Queues a packet for the device. Everything written in one turn of the event loop goes out in one socket write:
   * the PUBACKs of a whole log batch resolve together, and over TLS one write is one record to encrypt instead of one
   * per 4-byte PUBACK (per-packet writes were the ingest node's largest CPU cost). Order is kept.
   */
  write(packet: Packet): void {
    if (this.state === 'closed' || this.stream.destroyed) return;
    this.outgoing.push(encodePacket(packet));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outgoing.length === 0 || this.stream.destroyed) return;
    const chunk = this.outgoing.length === 1 ? this.outgoing[0]! : Buffer.concat(this.outgoing);
    this.outgoing = [];
    this.stream.write(chunk);
  }

  /** Ends the connection once; `replaced` when a newer connection of the same identity took over. */
  close(reason: string, options: { replaced?: boolean } = {}): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    if (this.timer) clearTimeout(this.timer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.queue.length = 0;
    this.flush(); // a refusing CONNACK or the last PUBACKs still reach the device
    this.stream.destroy();
    const level = this.gracefulDisconnect || !wasConnected && reason.startsWith('the client') ? 'debug' : 'info';
    this.log[level]({ device: this.clientId || undefined, reason }, 'connection closed');
    if (wasConnected && this.handle) {
      this.gateway.connections.unregister(this.handle, { reason, ...(options.replaced ? { replaced: true } : {}) });
      // A Will message is sent as telemetry when the connection ends without DISCONNECT (IoT Hub, wire §2.8).
      if (!this.gracefulDisconnect && this.will) publishWill(this, this.will);
    }
  }
}
