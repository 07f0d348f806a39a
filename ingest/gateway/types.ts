/**
 * The shapes shared by the gateway core and every protocol adapter (the Eclipse Hono split, DESIGN.md §2): adapters
 * turn frames into these calls; authentication, authorisation, limits and the log writer live behind them.
 */
import type { CloudCommand, Protocol } from '../../core/serde/records.ts';
import type { BucketSpec } from './throttle.ts';

/** How an identity proved itself; becomes IoT Hub's `iothub-connection-auth-method` JSON. */
export type AuthMethod =
  | { scope: 'device' | 'module'; type: 'sas' }
  /** A hub-level policy with DeviceConnect signed the token (skn). */
  | { scope: 'hub'; type: 'sas'; policy: string }
  | { scope: 'device' | 'module'; type: 'x509Certificate'; issuer: 'self' | 'ca' };

/** An authenticated device or module connection. */
export interface DeviceIdentity {
  deviceId: string;
  moduleId?: string;
  generationId: string;
  authMethod: AuthMethod;
  /** The auth method as IoT Hub's JSON text, computed once per connection. */
  authMethodJson: string;
  /** Seconds since the epoch after which the credentials expire (SAS `se`); undefined for certificates. */
  expiresAt?: number;
}

/** `deviceId` or `deviceId/moduleId`: the unit of "one live connection" and of delivery. */
export function identityKey(id: { deviceId: string; moduleId?: string | null | undefined }): string {
  return id.moduleId ? `${id.deviceId}/${id.moduleId}` : id.deviceId;
}

/** What an adapter hands the gateway to authenticate a connection. */
export interface ConnectRequest {
  protocol: Protocol;
  /** The host the device believes it talks to (username / token host), checked against the hub's host names. */
  hostName: string;
  deviceId: string;
  moduleId?: string;
  /** A SAS token (MQTT password, HTTP Authorization). */
  sasToken?: string;
  /** The TLS client certificate: the leaf and any intermediates the client presented, PEM. */
  clientCertificate?: { leafPem: string; intermediatePems: string[] };
}

/**
 * A live connection as the gateway sees it. The adapter implements `deliver` (write a command in its own framing) and
 * `close` (end the connection, e.g. because a newer one replaced it or the device was disabled).
 */
export interface ConnectionHandle {
  readonly connectionId: string;
  readonly identity: DeviceIdentity;
  readonly protocol: Protocol;
  readonly remoteAddress: string | undefined;
  readonly modelId: string | undefined;
  /** Milliseconds since the epoch; when two connections claim one identity, the newer one wins. */
  readonly connectedAt: number;
  deliver(command: CloudCommand): void;
  /** `replaced`: a newer connection of the same identity took over (the adapter passes it on to unregister). */
  close(reason: string, options?: { replaced?: boolean }): void;
}

/** Limits and throttles; every field has an IoT Hub-like default (see DEFAULT_LIMITS). */
export interface GatewayLimits {
  /** Largest D2C message (body + property names and values), wire §7.1: 256 KB. */
  maxMessageBytes: number;
  /** Per-device D2C throttle; undefined = none (IoT Hub has no documented per-device D2C rate). */
  deviceMessages?: BucketSpec;
  /** Per-hub (this node) D2C throttle, §7.2 "D2C sends"; undefined = none. */
  hubMessages?: BucketSpec;
  /** Per-hub (this node) new connections, §7.2 "New device connections"; undefined = none. */
  hubConnections?: BucketSpec;
  /** Traffic shaping window: an over-limit operation waits up to this long before it is refused. */
  maxShapingDelayMs: number;
  /** Publishes of one connection awaiting the log before that connection stops being read. */
  maxInflightPerConnection: number;
  /** Publishes of the whole node awaiting the log before every publishing connection stops being read. */
  maxInflightPerNode: number;
  /** How often connection states and last-activity times are written to the registry in one batch. */
  registryFlushMs: number;
  /** How long a looked-up credential stays cached when no change event arrives (safety net). */
  credentialTtlMs: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  maxMessageBytes: 256 * 1024,
  maxShapingDelayMs: 1000,
  maxInflightPerConnection: 256,
  maxInflightPerNode: 20_000,
  registryFlushMs: 2000,
  credentialTtlMs: 5 * 60_000,
};

/** Physical topic names; tests on a shared Kafka give each run its own. Values are encoded for the canonical topics. */
export interface GatewayTopics {
  deviceMessages: string;
  deviceConnections: string;
  deviceLifecycle: string;
  cloudCommands: string;
  twinUpdates: string;
  deviceReplies: string;
}
