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
import { encodePacket, PacketReader, PacketTooLargeError, type Packet } from './packet-reader.ts';
import { disconnectCodeFor, disconnectPacket, pubackCodeFor, RC, refusedPuback, type V5Session } from './mqtt5.ts';
import { unwatch, watch, type Sweepable } from './sweeper.ts';
import { TributaryError } from '../../core/errors/index.ts';
import type { WriteSink } from '../gateway/record-batcher.ts';

export type MqttProtocol = 'Mqtt' | 'MqttWs';

export interface ConnectionContext {
  gateway: Gateway;
  protocol: MqttProtocol;
  logger: Logger;
  /** Time allowed between the transport opening and CONNECT. */
  connectTimeoutMs: number;
  maxPacketBytes?: number;
  /** Told once when a connection closes (the server's set of open connections): one function for all of them. */
  onClosed?: (conn: MqttConnection) => void;
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

/**
 * A publish awaiting the log, in arrival order. PUBACKs go out in that order [MQTT-4.6.0-2]: a slot is answered only
 * once every earlier one is settled.
 */
export interface AckSlot {
  readonly messageId: number;
  readonly qos: 0 | 1;
  readonly what: string;
  /** 0 awaiting the log, 1 written, 2 failed. */
  state: 0 | 1 | 2;
  err: Error | undefined;
}

/**
 * Connections with packets to send this turn; one setImmediate writes them all. Everything written in one turn of the
 * event loop goes out in one socket write per connection: the PUBACKs of a whole log batch resolve together, and over
 * TLS one write is one record to encrypt instead of one per 4-byte PUBACK.
 */
let dirty: MqttConnection[] = [];

/**
 * The transport's listeners are shared by every connection: EventEmitter calls them with the stream as `this`, and the
 * stream points at its connection. Four closures and their context per connection would be ~250 bytes on every idle
 * connection (issue 5: ≤ 20 KB per idle TLS connection).
 */
const CONNECTION = Symbol('MqttConnection');
type OwnedStream = Duplex & { [CONNECTION]?: MqttConnection };

function onStreamData(this: OwnedStream, chunk: Buffer): void {
  this[CONNECTION]?.receive(chunk);
}
function onStreamError(this: OwnedStream, err: Error): void {
  this[CONNECTION]?.close(`transport error: ${err.message}`);
}
function onStreamClose(this: OwnedStream): void {
  this[CONNECTION]?.close('the client closed the connection');
}
function onStreamEnd(this: OwnedStream): void {
  this[CONNECTION]?.close('the client ended the connection');
}

function flushDirty(): void {
  const list = dirty;
  dirty = [];
  for (const c of list) c.flush();
}

export class MqttConnection implements Sweepable, WriteSink<AckSlot> {
  readonly id = randomUUID();
  state: State = 'awaitingConnect';
  identity: DeviceIdentity | undefined;
  clientId = '';
  clean = true;
  modelId: string | undefined;
  handle: ConnectionHandle | undefined;
  will: { topic: string; payload: Buffer; retain: boolean } | undefined;
  /** Created on first use: most idle connections never subscribe (an empty Map is ~100 bytes). */
  private subscriptionMap: Map<string, ActiveSubscription> | undefined;
  /** Publishes of this connection awaiting the log. */
  inflight = 0;
  /** See `telemetryPrefix`; built by the first publish, so an idle connection holds no copy of it. */
  private ownEventsTopic: string | undefined;
  /** Set when the CONNECT said MQTT 5 (mqtt5.ts); undefined for 3.1.1, whose path never looks further. */
  v5: V5Session | undefined;
  private outboundState: Outbound | undefined;
  private logger: Logger | undefined;
  private readonly reader: PacketReader;
  /** Packets held while blocked (created on first use: most connections never block after CONNECT). */
  private queue: Packet[] | undefined;
  private blocked = false;
  private pausedBlocked = false;
  private pausedInflight = false;
  private waitingForNode = false;
  private readonly openedAt = Date.now();
  private lastSeen = this.openedAt;
  private keepAliveMs = 0;
  /** SAS token expiry, epoch ms; 0 = none. */
  private expiresAtMs = 0;
  private gracefulDisconnect = false;
  /** Encoded packets written in this turn of the event loop; flushed together (see write). */
  private outgoing: Buffer[] | undefined;
  /** Created by the first publish: an idle connection holds no array (issue 5, ≤ 20 KB per idle TLS connection). */
  private acks: AckSlot[] | undefined;
  private ackHead = 0;

  constructor(readonly stream: Duplex, readonly ctx: ConnectionContext, readonly transport: TransportInfo) {
    this.reader = new PacketReader(this, ctx.maxPacketBytes);
    (stream as OwnedStream)[CONNECTION] = this;
    stream.on('data', onStreamData);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
    // WebSocket streams (ws createWebSocketStream) do not emit 'close'.
    stream.on('end', onStreamEnd);
    watch(this);
  }

  /** Bytes from the transport (the shared 'data' listener). */
  receive(chunk: Buffer): void {
    this.reader.push(chunk);
  }

  /** A child logger only when something is logged: one per connection is ~1 KB on every idle connection. */
  get log(): Logger {
    return (this.logger ??= this.ctx.logger.child({ conn: this.id, remote: this.transport.remoteAddress }));
  }

  /** `devices/{id}/messages/events/` of the authenticated device (not module): the telemetry fast path. */
  get telemetryPrefix(): string | undefined {
    const identity = this.identity;
    if (identity === undefined || identity.moduleId !== undefined) return undefined;
    return (this.ownEventsTopic ??= `devices/${identity.deviceId}/messages/events/`);
  }

  get subscriptions(): Map<string, ActiveSubscription> {
    return (this.subscriptionMap ??= new Map());
  }

  get outbound(): Outbound {
    return (this.outboundState ??= new Outbound(this));
  }

  /** A method, not `state === 'closed'`, so callers re-read it after an await (TS would keep the narrowed type). */
  get closed(): boolean {
    return this.state === 'closed';
  }

  get gateway(): Gateway {
    return this.ctx.gateway;
  }

  /** Deadlines, checked by the shared sweeper. */
  sweep(now: number): void {
    if (this.state === 'awaitingConnect') {
      if (now - this.openedAt >= this.ctx.connectTimeoutMs) this.close('no CONNECT within the connect timeout');
    } else if (this.state === 'connected') {
      if (now - this.lastSeen >= this.keepAliveMs) this.close(`no packet within 1.5 × keep-alive (${this.keepAliveMs / 1000} s)`, { code: RC.keepAliveTimeout });
      // IoT Hub drops a SAS connection when its token expires; the SDK renews well before (wire §1.3).
      else if (this.expiresAtMs > 0 && now >= this.expiresAtMs) this.close('the SAS token expired; reconnect with a new token', { code: RC.maximumConnectTime });
    }
  }

  // ---- inbound ---------------------------------------------------------------------------------------------------

  /** From the PacketReader. */
  onPacket(packet: Packet): void {
    this.lastSeen = Date.now();
    if (this.blocked) (this.queue ??= []).push(packet);
    else this.dispatch(packet);
  }

  /** From the PacketReader: malformed bytes. */
  onMalformed(err: Error): void {
    this.close(`malformed packet: ${err.message}`, { code: err instanceof PacketTooLargeError ? RC.packetTooLarge : RC.malformed });
  }

  private dispatch(packet: Packet): void {
    if (this.state === 'closed') return;
    if (this.state === 'awaitingConnect') {
      if (packet.cmd !== 'connect') return this.close(`first packet was ${packet.cmd}, not CONNECT [MQTT-3.1.0-1]`);
      return handleConnect(this, packet);
    }
    switch (packet.cmd) {
      case 'publish': return handlePublish(this, packet);
      case 'puback':
        if (this.outboundState) this.outboundState.acknowledged(packet.messageId ?? 0);
        return;
      case 'subscribe': return handleSubscribe(this, packet);
      case 'unsubscribe': return handleUnsubscribe(this, packet);
      case 'pingreq':
        if (this.identity) this.gateway.touch(this.identity);
        return this.write({ cmd: 'pingresp' });
      case 'disconnect':
        this.gracefulDisconnect = true;
        // MQTT 5 reason 0x04 "disconnect with Will message": the client asks for its Will all the same.
        if (packet.reasonCode === 0x04 && this.will) publishWill(this, this.will);
        return this.close('the client disconnected');
      case 'connect': return this.close('second CONNECT on one connection [MQTT-3.1.0-2]', { code: RC.protocolError });
      default: return this.close(`unexpected ${packet.cmd} packet from a client (QoS 2 flows are not supported)`, { code: RC.protocolError });
    }
  }

  /** Holds later packets until `unblock`; the socket pauses so they cannot pile up. */
  block(): void {
    this.blocked = true;
    this.pausedBlocked = true;
    this.applyPause();
  }

  unblock(): void {
    this.blocked = false;
    this.pausedBlocked = false;
    this.applyPause();
    const queue = this.queue;
    while (!this.blocked && queue !== undefined && queue.length > 0 && this.state !== 'closed') {
      const next = queue.shift();
      if (next) this.dispatch(next);
    }
    if (queue !== undefined && queue.length === 0) this.queue = undefined;
  }

  // ---- publishes awaiting the log: order and backpressure ---------------------------------------------------------

  /**
   * Takes the next PUBACK slot for a publish and counts it in flight: above the per-connection or per-node limit the
   * socket is paused until they drain (DESIGN.md §6: stop reading sockets instead of buffering).
   */
  enqueueAck(messageId: number, qos: 0 | 1, what: string): AckSlot {
    const slot: AckSlot = { messageId, qos, what, state: 0, err: undefined };
    (this.acks ??= []).push(slot);
    this.inflight++;
    if (this.inflight >= this.gateway.limits.maxInflightPerConnection || this.gateway.saturated) {
      this.pausedInflight = true;
      this.applyPause();
    }
    return slot;
  }

  /** The log's answer for a slot (WriteSink): answers every settled slot at the head of the queue, in order. */
  written(slot: AckSlot, err: Error | undefined): void {
    slot.state = err === undefined ? 1 : 2;
    slot.err = err;
    this.inflight--;
    if (this.pausedInflight && this.inflight <= this.gateway.limits.maxInflightPerConnection / 2) this.resumeWhenNodeDrained();
    const acks = this.acks ?? [];
    while (this.ackHead < acks.length) {
      const head = acks[this.ackHead]!;
      if (head.state === 0) break;
      this.ackHead++;
      if (head.state === 1) {
        if (head.qos === 1) this.write({ cmd: 'puback', messageId: head.messageId });
      } else if (head.qos === 0 && !(head.err instanceof TributaryError && !head.err.retriable)) {
        this.log.warn({ err: head.err, device: this.clientId }, `QoS 0 ${head.what} not written (best effort)`);
      } else if (this.v5 !== undefined && head.qos === 1 && pubackCodeFor(head.err) !== undefined) {
        // MQTT 5: a refusal the device can act on is its PUBACK's reason code; the connection stays (mqtt5.ts).
        this.write(refusedPuback(head.messageId, pubackCodeFor(head.err)!, head.err, this.v5));
        if (this.ctx.logger.isLevelEnabled('debug')) this.log.debug({ device: this.clientId, err: head.err }, `${head.what} refused with a PUBACK reason code`);
      } else {
        this.close(`${head.what} not accepted: ${head.err?.message ?? 'unknown error'}`, this.v5 && { code: disconnectCodeFor(head.err) });
      }
    }
    if (this.ackHead === acks.length) {
      acks.length = 0;
      this.ackHead = 0;
    } else if (this.ackHead > 1024) {
      acks.splice(0, this.ackHead);
      this.ackHead = 0;
    }
  }

  private resumeWhenNodeDrained(): void {
    if (this.waitingForNode) return;
    this.waitingForNode = true;
    this.gateway.whenDrained(() => {
      this.waitingForNode = false;
      this.pausedInflight = false;
      this.applyPause();
    });
  }

  private applyPause(): void {
    if (this.state === 'closed') return;
    if (this.pausedBlocked || this.pausedInflight) this.stream.pause();
    else this.stream.resume();
  }

  // ---- connected -------------------------------------------------------------------------------------------------

  /** Called by the CONNECT handler once the identity is accepted. */
  startSession(identity: DeviceIdentity, keepaliveSeconds: number): ConnectionHandle {
    this.identity = identity;
    this.state = 'connected';
    this.keepAliveMs = keepAliveTimeoutMs(keepaliveSeconds);
    this.lastSeen = Date.now();
    if (identity.expiresAt !== undefined) this.expiresAtMs = identity.expiresAt * 1000;
    // Checked by the authentication just done (a second CONNECT closes the connection): an X.509 device's connection
    // need not hold the PEM of its chain (~1–2 KB) for its lifetime.
    if (this.transport.clientCertificate !== undefined) this.transport.clientCertificate = undefined;
    const handle = new MqttHandle(this, identity, Date.now());
    this.handle = handle;
    return handle;
  }

  /** Queues a packet for the device; everything written in one turn of the event loop leaves in one socket write. */
  write(packet: Packet): void {
    if (this.state === 'closed' || this.stream.destroyed) return;
    const encoded = encodePacket(packet, this.v5?.encodeOptions);
    if (this.outgoing === undefined) {
      this.outgoing = [encoded];
      if (dirty.length === 0) setImmediate(flushDirty);
      dirty.push(this);
    } else {
      this.outgoing.push(encoded);
    }
  }

  /** Writes what `write` queued (called once per turn by the shared flush, and by close). */
  flush(): void {
    const out = this.outgoing;
    if (out === undefined) return;
    this.outgoing = undefined;
    if (this.stream.destroyed) return;
    this.stream.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  /**
   * Ends the connection once; `replaced` when a newer connection of the same identity took over. An MQTT 5 client
   * the server drops is told why first: a DISCONNECT with `code` (default: 0x8E when replaced, else 0x80).
   */
  close(reason: string, options: { replaced?: boolean; code?: number } = {}): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    // Not when the client itself ended the connection (DISCONNECT, end of stream) or the transport is gone.
    if (this.v5 !== undefined && wasConnected && !this.gracefulDisconnect && !this.stream.readableEnded && !this.stream.destroyed) {
      this.write(disconnectPacket(options.code ?? (options.replaced ? RC.sessionTakenOver : RC.unspecified), reason));
    }
    this.state = 'closed';
    unwatch(this);
    this.ctx.onClosed?.(this);
    this.queue = undefined;
    this.flush(); // a refusing CONNACK or the last PUBACKs still reach the device
    this.stream.destroy();
    const level = this.gracefulDisconnect || !wasConnected && reason.startsWith('the client') ? 'debug' : 'info';
    if (this.ctx.logger.isLevelEnabled(level)) this.log[level]({ device: this.clientId || undefined, reason }, 'connection closed');
    if (wasConnected && this.handle) {
      this.gateway.connections.unregister(this.handle, { reason, ...(options.replaced ? { replaced: true } : {}) });
      // A Will message is sent as telemetry when the connection ends without DISCONNECT (IoT Hub, wire §2.8).
      if (!this.gracefulDisconnect && this.will) publishWill(this, this.will);
    }
  }
}

/** The gateway's view of a connection; a class so its methods live on the prototype, not as closures per connection. */
class MqttHandle implements ConnectionHandle {
  constructor(private readonly conn: MqttConnection, readonly identity: DeviceIdentity, readonly connectedAt: number) {}

  get connectionId(): string {
    return this.conn.id;
  }

  get protocol(): MqttProtocol {
    return this.conn.ctx.protocol;
  }

  get remoteAddress(): string | undefined {
    return this.conn.transport.remoteAddress;
  }

  get modelId(): string | undefined {
    return this.conn.modelId;
  }

  deliver(command: CloudCommand): void {
    this.conn.outbound.deliver(command);
  }

  /** The gateway closes a connection when a newer one replaced it, or when the identity was disabled or deleted. */
  close(reason: string, options?: { replaced?: boolean }): void {
    this.conn.close(reason, { ...options, code: options?.replaced ? RC.sessionTakenOver : RC.administrativeAction });
  }
}
