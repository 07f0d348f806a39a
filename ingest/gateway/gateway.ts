/**
 * The gateway core every protocol adapter calls (the Eclipse Hono split, DESIGN.md §2): authenticate, authorise,
 * limits and throttles, the log writer, the connection registry, sessions and the device-bound path. Adapters only
 * translate frames into these calls and answer in their protocol.
 *
 * Writing to the log: one `log.produce` per message, never awaited before the next message is read — the Log batches
 * concurrent produces itself (DESIGN.md §4). The promise an adapter gets resolves once the log holds the record
 * durably (Kafka: acks=all), which is when MQTT may PUBACK (DESIGN.md §6).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { TributaryError } from '../../core/errors/index.ts';
import { TOPICS } from '../../core/log/topics.ts';
import type { Log } from '../../core/log/types.ts';
import { componentLogger, type Logger } from '../../core/logging/logger.ts';
import type { AvroSerde } from '../../core/serde/avro-serde.ts';
import type { CloudCommand, DeviceReply, Protocol, TwinUpdate } from '../../core/serde/records.ts';
import type { Store } from '../../core/store/types.ts';
import { ActivityRecorder, type ActivitySink } from './activity-recorder.ts';
import { Authenticator, type VerifiedCaSource } from './authenticator.ts';
import { CommandDispatcher } from './command-dispatcher.ts';
import { ConnectionRegistry } from './connection-registry.ts';
import { CredentialCache, type CredentialSource } from './credential-cache.ts';
import { buildDeviceMessage, sizeAbove, type InboundMessage } from './envelope.ts';
import { StoreSessionStore, type SessionStore } from './session-store.ts';
import { KeyedThrottle } from './throttle.ts';
import { HubShare } from './hub-share.ts';
import { LifecycleListener } from './lifecycle-listener.ts';
import { RecordBatcher, type WriteSink } from './record-batcher.ts';
import { DEFAULT_LIMITS, identityKey, type ConnectRequest, type DeviceIdentity, type GatewayLimits, type GatewayTopics } from './types.ts';
import type { SharedAccessPolicy } from '../../core/auth/policies.ts';
import type { RegistryChange } from '../../core/registry/index.ts';

/** What the gateway needs from core/registry's DeviceRegistry. */
export interface GatewayRegistry extends CredentialSource, ActivitySink {
  getPolicy(keyName: string): Promise<SharedAccessPolicy | undefined>;
  onChange(listener: (change: RegistryChange) => void): () => void;
}

export interface GatewayOptions {
  /** This node's id: in envelopes, connection events and its consumer group names. Default host-pid-random. */
  nodeId?: string;
  hostNames: readonly string[];
  log: Log;
  serde: AvroSerde;
  store: Store;
  registry: GatewayRegistry;
  caStore?: VerifiedCaSource;
  limits?: Partial<GatewayLimits>;
  topics?: Partial<GatewayTopics>;
  sessions?: SessionStore;
  logger?: Logger;
}

/** Settles the promise of `publishTelemetry`. */
const PROMISE_SINK: WriteSink<{ resolve(): void; reject(err: Error): void }> = {
  written(token, err) {
    if (err) token.reject(err);
    else token.resolve();
  },
};

export class Gateway {
  readonly nodeId: string;
  readonly limits: GatewayLimits;
  readonly topics: GatewayTopics;
  readonly connections: ConnectionRegistry;
  readonly sessions: SessionStore;
  readonly logger: Logger;
  private readonly log: Log;
  private readonly serde: AvroSerde;
  private readonly recorder: ActivityRecorder;
  private readonly credentials: CredentialCache;
  private readonly authenticator: Authenticator;
  private readonly commands: CommandDispatcher;
  private readonly messageThrottle: KeyedThrottle;
  private readonly connectThrottle: KeyedThrottle;
  /** Splits the hub-wide limits with the other ingest nodes; absent when no hub-wide limit is set. */
  private readonly hubShare: HubShare | undefined;
  private readonly unsubscribe: () => void;
  private readonly lifecycle: LifecycleListener;
  /** Publishes of the whole node awaiting the log, and who waits for that number to drop. */
  private inflight = 0;
  private drainWaiters: Array<() => void> = [];
  private readonly telemetryBatcher: RecordBatcher;

  constructor(o: GatewayOptions) {
    this.nodeId = o.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.topics = {
      deviceMessages: TOPICS.deviceMessages, deviceConnections: TOPICS.deviceConnections, deviceLifecycle: TOPICS.deviceLifecycle, cloudCommands: TOPICS.cloudCommands,
      twinUpdates: TOPICS.twinUpdates, deviceReplies: TOPICS.deviceReplies, ...o.topics,
    };
    this.logger = o.logger ?? componentLogger('ingest-gateway', { node: this.nodeId });
    this.log = o.log;
    this.serde = o.serde;
    this.recorder = new ActivityRecorder(o.registry, this.limits.registryFlushMs, this.logger);
    this.credentials = new CredentialCache(o.registry, this.limits.credentialTtlMs);
    this.authenticator = new Authenticator({
      hostNames: o.hostNames, credentials: this.credentials, lookupPolicy: (name) => o.registry.getPolicy(name),
      ...(o.caStore ? { caStore: o.caStore } : {}),
    });
    this.sessions = o.sessions ?? new StoreSessionStore(o.store);
    this.connections = new ConnectionRegistry({
      nodeId: this.nodeId, log: o.log, serde: o.serde, topic: this.topics.deviceConnections, recorder: this.recorder, logger: this.logger,
      // A live connection holds its identity; cached credentials would only add to every idle connection (credential-cache.ts).
      onRegistered: (identity) => this.credentials.release(identity.deviceId, identity.moduleId),
    });
    this.commands = new CommandDispatcher({ nodeId: this.nodeId, log: o.log, serde: o.serde, topic: this.topics.cloudCommands, connections: this.connections, logger: this.logger });
    this.messageThrottle = new KeyedThrottle(this.limits.deviceMessages, this.limits.hubMessages, this.limits.maxShapingDelayMs);
    this.connectThrottle = new KeyedThrottle(undefined, this.limits.hubConnections, this.limits.maxShapingDelayMs);
    const shared = [{ name: 'd2c', throttle: this.messageThrottle }, { name: 'connect', throttle: this.connectThrottle }].filter((l) => l.throttle.hasShared);
    this.hubShare = shared.length > 0 ? new HubShare({ store: o.store, nodeId: this.nodeId, limits: shared, logger: this.logger }) : undefined;
    this.unsubscribe = o.registry.onChange((change) => this.onRegistryChange(change));
    this.telemetryBatcher = new RecordBatcher(o.log, o.serde, TOPICS.deviceMessages, this.topics.deviceMessages, (n) => this.settled(n));
    this.lifecycle = new LifecycleListener({ nodeId: this.nodeId, log: o.log, serde: o.serde, topic: this.topics.deviceLifecycle, logger: this.logger, onChange: (change) => this.onRegistryChange(change) });
  }

  async start(): Promise<void> {
    // The writer schema now, so the first telemetry batch encodes synchronously; if the registry is down the batcher waits for it.
    await this.serde.prepare(TOPICS.deviceMessages).catch(() => undefined);
    await this.connections.start();
    await this.commands.start();
    await this.lifecycle.start();
    await this.hubShare?.start();
  }

  /** Commands delivered to connections of this node since start. */
  get deliveredCommands(): number {
    return this.commands.delivered;
  }

  // ---- connect ---------------------------------------------------------------------------------------------------

  /** Throws IotHubUnauthorizedAccess (details.refusal), ThrottlingException, or a store/registry error. */
  async authenticate(req: ConnectRequest): Promise<DeviceIdentity> {
    const wait = this.connectThrottle.admit('');
    if (wait === undefined) throw new TributaryError('ThrottlingException', 'Too many new device connections per second on this node; retry with backoff');
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return this.authenticator.authenticate(req);
  }

  // ---- device → cloud -------------------------------------------------------------------------------------------

  /**
   * Throttle check for one D2C message: 0 = go, > 0 = wait that many ms first (traffic shaping). Throws
   * ThrottlingException when the wait would exceed the shaping window (IoT Hub then closes an MQTT connection).
   */
  admitTelemetry(identity: DeviceIdentity): number {
    if (!this.messageThrottle.limited) return 0; // the default: no D2C limit configured
    const wait = this.messageThrottle.admit(identityKey(identity));
    if (wait === undefined) {
      throw new TributaryError('ThrottlingException', `D2C rate limit exceeded for ${identityKey(identity)}; slow down and retry with backoff`, { details: { device: identity.deviceId } });
    }
    return wait;
  }

  /**
   * The hot path: size check (MessageTooLarge), then the envelope joins this turn's batch for the log; `sink` is told
   * once the log acknowledged it (or why not — also synchronously, for a refusal). No promise per message.
   */
  submitTelemetry<T>(identity: DeviceIdentity, message: InboundMessage, protocol: Protocol, sink: WriteSink<T>, token: T): void {
    const size = sizeAbove(message, this.limits.maxMessageBytes);
    if (size !== undefined) {
      sink.written(token, new TributaryError('MessageTooLarge', `Message of ${size} bytes exceeds the ${this.limits.maxMessageBytes}-byte D2C limit; split it or upload a file`, { details: { size } }));
      return;
    }
    const now = Date.now();
    this.recorder.activityAt(identity, now);
    this.inflight++;
    this.telemetryBatcher.add(identity.deviceId, buildDeviceMessage({ identity, message, protocol, ingestNode: this.nodeId, enqueuedTime: now }), now, sink, token);
  }

  /** `submitTelemetry` as a promise (Wills, other adapters, tests); resolves when the log acknowledged the message. */
  publishTelemetry(identity: DeviceIdentity, message: InboundMessage, protocol: Protocol): Promise<void> {
    return new Promise((resolve, reject) => {
      this.submitTelemetry(identity, message, protocol, PROMISE_SINK, { resolve, reject });
    });
  }

  /** Twin GET / reported PATCH from a device, to the twins processor (which answers via iot.cloud.commands). */
  forwardTwinRequest(identity: DeviceIdentity, req: { kind: 'GetTwin' | 'PatchReported'; requestId: string; patch?: string }, protocol: Protocol): Promise<void> {
    const now = Date.now();
    this.recorder.activityAt(identity, now);
    const update: TwinUpdate = {
      kind: req.kind, origin: 'Device', deviceId: identity.deviceId, moduleId: identity.moduleId ?? null, requestId: req.requestId,
      patch: req.patch ?? null, ingestNode: this.nodeId, protocol, enqueuedTime: now,
    };
    return this.track(this.serde.encode(TOPICS.twinUpdates, update)
      .then((value) => this.log.produce(this.topics.twinUpdates, [{ key: identity.deviceId, value, timestamp: now }]))
      .then(() => undefined));
  }

  /** Replies from the device: method responses and C2D settlement (over MQTT "complete" is the PUBACK, wire §2.4). */
  forwardReply(identity: DeviceIdentity, reply: Pick<DeviceReply, 'kind' | 'requestId' | 'status' | 'messageId' | 'lockToken' | 'body'>, protocol: Protocol): Promise<void> {
    const now = Date.now();
    this.recorder.activityAt(identity, now);
    const record: DeviceReply = { ...reply, deviceId: identity.deviceId, moduleId: identity.moduleId ?? null, ingestNode: this.nodeId, protocol, enqueuedTime: now };
    return this.track(this.serde.encode(TOPICS.deviceReplies, record)
      .then((value) => this.log.produce(this.topics.deviceReplies, [{ key: identity.deviceId, value, timestamp: now }]))
      .then(() => undefined));
  }

  /** Marks that a C2D command was settled by the device; fire-and-forget with a logged failure. */
  completeCommand(identity: DeviceIdentity, command: CloudCommand, protocol: Protocol): void {
    this.forwardReply(identity, { kind: 'C2DComplete', messageId: command.messageId ?? null, lockToken: command.lockToken ?? command.commandId }, protocol)
      .catch((err: unknown) => this.logger.warn({ err, commandId: command.commandId }, 'C2D completion not recorded'));
  }

  /** A keep-alive or any other frame counts as activity too. */
  touch(identity: DeviceIdentity): void {
    this.recorder.activityAt(identity, Date.now());
  }

  // ---- node-wide backpressure ------------------------------------------------------------------------------------

  get inflightPublishes(): number {
    return this.inflight;
  }

  /** Whether the node has as many publishes awaiting the log as it allows; adapters then stop reading sockets. */
  get saturated(): boolean {
    return this.inflight >= this.limits.maxInflightPerNode;
  }

  /** Calls `fn` once the node is below its low-water mark again (immediately if it already is). */
  whenDrained(fn: () => void): void {
    if (!this.saturated) fn();
    else this.drainWaiters.push(fn);
  }

  private track(p: Promise<void>): Promise<void> {
    this.inflight++;
    p.then(() => this.settled(1), () => this.settled(1));
    return p;
  }

  private settled(count: number): void {
    this.inflight -= count;
    if (this.drainWaiters.length > 0 && this.inflight <= this.limits.maxInflightPerNode * 0.75) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  // ---- registry changes ------------------------------------------------------------------------------------------

  private onRegistryChange(change: RegistryChange): void {
    this.credentials.invalidate(change.deviceId, change.moduleId);
    if (change.kind === 'disabled' || change.kind === 'deleted') {
      const closed = this.connections.closeIdentity(change.deviceId, change.moduleId, `the identity was ${change.kind} in the registry`);
      if (closed > 0) this.logger.info({ device: change.deviceId, module: change.moduleId, closed, kind: change.kind }, 'closed connections of a changed identity');
    }
  }

  /** Forgets the cached verified CA certificates (call after a CA is verified or removed). */
  invalidateCertificateAuthorities(): void {
    this.authenticator.invalidateCas();
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.hubShare?.stop();
    await this.lifecycle.stop();
    await this.commands.close();
    await this.connections.close();
    await this.recorder.close();
  }
}
