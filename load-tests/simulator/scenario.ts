/**
 * Load scenarios as typed data (DESIGN.md §11, after the Temporal SDK's load scenarios): one TypeBox schema is the
 * type, the defaults and the validation, so a bad option fails before a single connection is opened, with its path.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TributaryError } from '../../core/errors/index.ts';
import { validateOptions } from '../../core/runtime/validate-options.ts';

export const ScenarioSchema = Type.Object({
  name: Type.String({ minLength: 1, default: 'custom' }),
  /** `telemetry`: publish as fast as acks allow; `idle`: connect, hold the connections until stopped. */
  mode: Type.Union([Type.Literal('telemetry'), Type.Literal('idle')], { default: 'telemetry' }),
  devices: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100 }),
  /** Device ids are `{prefix}-{index, zero-padded to 6}`; the bench provisions exactly these on a Tributary hub. */
  deviceIdPrefix: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', default: 'sim' }),
  /** Worker threads driving the devices; more than the cores there are only adds scheduling noise. */
  workers: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
  /** New connections per second over all workers (TLS handshakes cost the server CPU; a storm is its own test). */
  connectRate: Type.Number({ exclusiveMinimum: 0, default: 500 }),
  connectTimeoutMs: Type.Integer({ minimum: 100, default: 30_000 }),
  /** Unacknowledged publishes a device may have outstanding; the next publish waits for a PUBACK below this. */
  inFlight: Type.Integer({ minimum: 1, maximum: 65_535, default: 10 }),
  /** QoS 2 is absent on purpose: IoT Hub closes the connection on a QoS 2 publish (iothub-wire.md §2.8). */
  qos: Type.Union([Type.Literal(0), Type.Literal(1)], { default: 1 }),
  /** Size of each JSON payload in bytes (~100 like a typical sensor reading). */
  payloadBytes: Type.Integer({ minimum: 64, maximum: 256 * 1024, default: 100 }),
  /** Publishing phase length; exactly one of durationSeconds and messages bounds a telemetry run. */
  durationSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  /** Total messages over all devices. */
  messages: Type.Optional(Type.Integer({ minimum: 1 })),
  /** After stop, how long outstanding publishes may take to be acknowledged before they count as unacked. */
  drainTimeoutMs: Type.Integer({ minimum: 0, default: 10_000 }),
  keepaliveSeconds: Type.Integer({ minimum: 0, maximum: 1767, default: 180 }),
  /** Source addresses, one per device round-robin: each gives ~28k ephemeral ports toward one server port. */
  localAddresses: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
  /** Reconnect a device whose connection dropped during the run (through the same connect rate limit). */
  reconnect: Type.Boolean({ default: true }),
  /** Messages per second over all devices; absent: as fast as the in-flight windows and the acks allow. */
  messageRate: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  /** The message rate rises linearly from 0 to `messageRate` over this many seconds of the publishing phase. */
  rampSeconds: Type.Number({ minimum: 0, default: 0 }),
  /** `mqtt`: MQTT over TLS (8883 role); `mqtt-ws`: MQTT over WebSockets at `/$iothub/websocket` (iothub-wire.md §3). */
  protocol: Type.Union([Type.Literal('mqtt'), Type.Literal('mqtt-ws')], { default: 'mqtt' }),
  /**
   * Relative weights of the device credentials: SAS tokens and X.509 (self-signed, thumbprint). Devices are
   * interleaved by index so every worker gets the same mix.
   */
  authMix: Type.Object({
    sas: Type.Number({ minimum: 0, default: 1 }),
    x509: Type.Number({ minimum: 0, default: 0 }),
  }, { default: {} }),
});

export type Scenario = Static<typeof ScenarioSchema>;
export type ScenarioInput = Partial<Scenario>;

const LOOPBACK_V4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isLoopbackV4(address: string): boolean {
  const m = LOOPBACK_V4.exec(address);
  return m !== null && m.slice(1).every((octet) => Number(octet) <= 255);
}

/** Fills defaults and checks every field, then the rules that tie fields together. */
export function validateScenario(input: ScenarioInput): Scenario {
  const s = validateOptions('load-test scenario', ScenarioSchema, input);
  const problems: string[] = [];
  if (s.mode === 'telemetry' && (s.durationSeconds === undefined) === (s.messages === undefined)) {
    problems.push('durationSeconds / messages: a telemetry scenario needs exactly one of them');
  }
  if (s.mode === 'idle' && s.messages !== undefined) problems.push('messages: an idle scenario sends no messages');
  if (s.messages !== undefined && s.messages < s.devices) {
    problems.push(`messages: ${s.messages} is fewer than the ${s.devices} devices; every device sends at least one`);
  }
  if (s.rampSeconds > 0 && s.messageRate === undefined) problems.push('rampSeconds: a ramp needs a messageRate to ramp up to');
  if (s.authMix.sas + s.authMix.x509 <= 0) problems.push('authMix: at least one of sas and x509 must have a positive weight');
  s.localAddresses?.forEach((a, i) => {
    // The harness only ever talks to this machine (127.0.0.0/8): a source address elsewhere would mean traffic elsewhere.
    if (!isLoopbackV4(a)) problems.push(`localAddresses[${i}]: ${a} is not an IPv4 loopback address (127.0.0.0/8)`);
  });
  if (problems.length > 0) {
    throw new TributaryError('ArgumentInvalid', `invalid load-test scenario "${s.name}":\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  return { ...s, workers: Math.min(s.workers, s.devices) };
}

export function deviceId(s: Pick<Scenario, 'deviceIdPrefix'>, index: number): string {
  return `${s.deviceIdPrefix}-${String(index).padStart(6, '0')}`;
}

/**
 * Splits devices [0, devices) into contiguous slices, one per worker, sizes differing by at most one; a message
 * budget is split the same way so that no worker finishes long before the others.
 */
export function partition(total: number, parts: number): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  const base = Math.floor(total / parts);
  const extra = total % parts;
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const size = base + (i < extra ? 1 : 0);
    out.push({ start, end: start + size });
    start += size;
  }
  return out;
}

/** Whether device `index` authenticates with X.509: the x509 share spread evenly over the indexes (deterministic). */
export function usesX509(mix: Scenario['authMix'], index: number): boolean {
  const share = mix.x509 / (mix.sas + mix.x509);
  return Math.floor((index + 1) * share) > Math.floor(index * share);
}
