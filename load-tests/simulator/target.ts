/**
 * What a simulated device connects to and how it speaks. Everything here is plain data (it crosses the worker_threads
 * boundary by structured clone) plus pure functions that turn (target, device, message) into MQTT fields, so the
 * wire dialect is unit-testable and identical in every worker.
 */
import { createSasToken } from '../../core/auth/sas.ts';

/** Any MQTT 3.1.1 broker (the Mosquitto baseline): no auth, one topic per device. */
export interface MqttTarget {
  kind: 'mqtt';
  /** Label in reports, e.g. `mosquitto`. */
  name: string;
  host: string;
  port: number;
  /** TLS with this CA when set; plain TCP otherwise. */
  tls?: { caPem: string; servername?: string };
  /** Topics are `{topicPrefix}/{deviceId}/telemetry`. */
  topicPrefix?: string;
  /** MQTT CleanSession; default true so a broker keeps no session for thousands of bench client ids. */
  clean?: boolean;
}

/** IoT Hub's MQTT dialect (iothub-wire.md §1.3, §2.1–§2.3), as spoken to Tributary. */
export interface IotHubTarget {
  kind: 'iothub';
  name: string;
  /** Address connected to (GatewayHostName's role); may differ from hubName. */
  host: string;
  port: number;
  /** IoT Hub HostName: goes into the username and the token's `sr`. */
  hubName: string;
  /** CA the server certificate chains to; the chain is checked, as the SDK does (wire §0.3). */
  caPem: string;
  /** SNI and certificate name check; defaults to hubName. */
  servername?: string;
  /** Base64 symmetric key every bench device was provisioned with. */
  deviceKey: string;
  /** Token lifetime; the SDK's default is 3600 s (wire §1.3). */
  tokenTtlSeconds?: number;
  /** HTTPS port serving MQTT over WebSockets (`protocol: 'mqtt-ws'`); IoT Hub's is 443 (wire §3). */
  wsPort?: number;
  /**
   * The one self-signed client certificate every X.509 device of the bench presents (each device is registered
   * with its thumbprint), so X.509 costs one SecureContext per worker, not one per device.
   */
  x509?: { certPem: string; keyPem: string };
}

export type Target = MqttTarget | IotHubTarget;

export const IOTHUB_API_VERSION = '2021-04-12';
/** Sent like the SDK sends its user agent (wire §2.1), so the hub's logs can tell bench devices apart. */
export const DEVICE_CLIENT_TYPE = 'tributary-load-tests/0.1';
/** Application property carrying the send time in epoch milliseconds, for device→Kafka/ClickHouse latency. */
export const SENT_AT_PROPERTY = 'bench-sent-ms';

export interface ConnectFields {
  clientId: string;
  username?: string;
  password?: string;
  clean: boolean;
}

/** CONNECT fields; `nowSeconds` is injected so tokens are testable. An X.509 device sends no password (wire §1.3). */
export function connectFields(target: Target, id: string, nowSeconds: number, x509 = false): ConnectFields {
  if (target.kind === 'mqtt') return { clientId: id, clean: target.clean ?? true };
  if (x509) return { clientId: id, username: iotHubUsername(target.hubName, id), clean: false };
  const expiresAt = Math.floor(nowSeconds) + (target.tokenTtlSeconds ?? 3600);
  return {
    // IoT Hub requires clientId = deviceId and a persistent session (wire §0.4, §2.1).
    clientId: id,
    username: iotHubUsername(target.hubName, id),
    password: createSasToken({ resourceUri: `${target.hubName}/devices/${id}`, key: target.deviceKey, expiresAt }),
    clean: false,
  };
}

export function iotHubUsername(hubName: string, id: string): string {
  return `${hubName}/${id}/?api-version=${IOTHUB_API_VERSION}&DeviceClientType=${encodeURIComponent(DEVICE_CLIENT_TYPE)}`;
}

/**
 * Device→hub property bag (wire §2.3): system properties first, `$` written `%24`, values percent-encoded, then the
 * application properties. The content type/encoding mark the body as JSON for routing queries, as a JSON device would.
 */
export function telemetryBag(messageId: string, sentAtMs: number): string {
  return `%24.mid=${encodeURIComponent(messageId)}&%24.ct=application%2Fjson&%24.ce=utf-8&${SENT_AT_PROPERTY}=${sentAtMs}`;
}

/** Topic of one telemetry message. Plain brokers get a fixed topic per device; IoT Hub the events topic plus bag. */
export function telemetryTopic(target: Target, id: string, messageId: string, sentAtMs: number): string {
  if (target.kind === 'mqtt') return `${target.topicPrefix ?? 'tributary-bench'}/${id}/telemetry`;
  return `devices/${id}/messages/events/${telemetryBag(messageId, sentAtMs)}`;
}

/** `{runId}.{deviceId}.{seq}`: unique per run and device, so duplicates (wire §2.7 re-publishes) can be counted downstream. */
export function messageId(runId: string, id: string, seq: number): string {
  return `${runId}.${id}.${seq}`;
}

/**
 * A JSON reading of exactly `size` bytes (padded with a `pad` field). Values vary with `seq` deterministically, so
 * both targets see the same bytes for the same (device, seq) and no random generator sits on the hot path.
 */
export function telemetryPayload(id: string, seq: number, sentAtMs: number, size: number): Buffer {
  const temp = (20 + ((seq * 37) % 1000) / 100).toFixed(2);
  const hum = (40 + ((seq * 53) % 4000) / 100).toFixed(2);
  const bare = `{"deviceId":"${id}","seq":${seq},"ts":${sentAtMs},"temp":${temp},"hum":${hum}`;
  // `,"pad":""` costs 9 bytes; when that does not fit, the bare reading (slightly over `size`) goes out as it is.
  const pad = size - bare.length - 10;
  return Buffer.from(pad < 0 ? `${bare}}` : `${bare},"pad":"${'x'.repeat(pad)}"}`);
}

export function describeTarget(t: Target): string {
  if (t.kind === 'mqtt') return `${t.name}: mqtt${t.tls ? 's' : ''}://${t.host}:${t.port} (plain MQTT 3.1.1, no auth)`;
  return `${t.name}: mqtts://${t.host}:${t.port} (IoT Hub dialect, hub ${t.hubName}, SAS, CleanSession 0)`;
}
