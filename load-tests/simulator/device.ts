/**
 * One simulated device: an mqtt.js 5 client whose socket we build ourselves (so TLS shares one SecureContext per
 * worker and a source address can be chosen), publishing with a bounded in-flight window. The generator code is the
 * same for every target; only the CONNECT fields and the topic come from the target (target.ts).
 */
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type SecureContext } from 'node:tls';
import { MqttClient, type IClientOptions, type IStream } from 'mqtt';
import { WebSocket, createWebSocketStream, type ClientOptions as WsClientOptions } from 'ws';
import { recordMs, type Histogram } from './histogram.ts';
import type { Scenario } from './scenario.ts';
import { countError, errorKey, type WorkerReport } from './stats.ts';
import { connectFields, messageId, telemetryPayload, telemetryTopic, type Target } from './target.ts';

/** What the devices of one worker share. `report` is swapped by the worker at every report interval. */
export interface DeviceContext {
  readonly scenario: Scenario;
  readonly target: Target;
  readonly runId: string;
  readonly secureContext: SecureContext | undefined;
  /** The same CA plus the bench's X.509 client certificate, for the X.509 devices of the auth mix. */
  readonly x509SecureContext: SecureContext | undefined;
  report: WorkerReport;
  readonly latency: Histogram;
  readonly connectLatency: Histogram;
  /** Rate-paced run: acks do not pull the next message, the worker's pacer hands messages out (pumpOne). */
  paced: boolean;
  /** Takes one message from the worker's budget; false when the budget is spent. */
  takeMessage(): boolean;
  /** Called after every settled publish and every drop (the worker checks for "finished" and reconnects). */
  onSettled(): void;
  onDrop(device: SimDevice): void;
  /** Publishes outstanding over the worker, and the time of the latest ack (epoch ms) for the rate. */
  inFlight: number;
  open: number;
  lastAckAt: number;
}

export class SimDevice {
  #client: MqttClient | undefined;
  #connected = false;
  #closing = false;
  #publishing = false;
  #seq = 0;
  #inFlight = 0;
  #lastError: unknown;

  constructor(
    readonly id: string,
    private readonly ctx: DeviceContext,
    private readonly localAddress: string | undefined,
    private readonly x509 = false,
  ) {}

  get connected(): boolean {
    return this.#connected;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Opens the connection; resolves true on CONNACK 0, false (with the error counted) otherwise. Never rejects. */
  connect(): Promise<boolean> {
    const { scenario, target } = this.ctx;
    const fields = connectFields(target, this.id, Date.now() / 1000, this.x509);
    const options: IClientOptions = {
      ...fields,
      protocolVersion: 4,
      keepalive: scenario.keepaliveSeconds,
      // The bench reconnects itself, through the connect rate limit (the SDK also disables mqtt.js reconnects).
      reconnectPeriod: 0,
      connectTimeout: scenario.connectTimeoutMs,
      resubscribe: false,
    };
    this.#closing = false;
    this.#lastError = undefined;
    const t0 = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      const settle = (ok: boolean, err?: unknown) => {
        if (settled) return;
        settled = true;
        if (ok) {
          this.#connected = true;
          this.ctx.open++;
          this.ctx.report.connects++;
          recordMs(this.ctx.connectLatency, performance.now() - t0);
        } else {
          this.ctx.report.connectFailures++;
          // A CONNACK refusal arrives as an error whose numeric code is the return code (MQTT 3.1.1 §3.2.2.3).
          const refused = err !== undefined && typeof (err as { code?: unknown }).code === 'number';
          countError(this.ctx.report.errors, errorKey(refused ? 'connack' : 'connect', err ?? new Error('closed before CONNACK')));
          client.end(true);
          this.#client = undefined;
        }
        resolve(ok);
      };
      const client = new MqttClient(() => this.#stream(), options);
      this.#client = client;
      client.once('connect', () => settle(true));
      client.on('error', (err) => {
        this.#lastError = err;
        settle(false, err);
      });
      client.on('close', () => {
        if (!settled) return settle(false, this.#lastError);
        if (this.#connected) this.#dropped(client);
      });
    });
  }

  #stream(): IStream {
    const { target, scenario } = this.ctx;
    const secureContext = this.x509 ? this.ctx.x509SecureContext : this.ctx.secureContext;
    if (scenario.protocol === 'mqtt-ws' && target.kind === 'iothub') {
      // wire §3: wss://{host}:443/$iothub/websocket, subprotocol `mqtt`; MQTT frames travel as binary messages.
      const options: WsClientOptions & { secureContext?: SecureContext; servername?: string } = {
        perMessageDeflate: false, rejectUnauthorized: true, servername: target.servername ?? target.hubName, secureContext,
        ...(this.localAddress ? { localAddress: this.localAddress } : {}),
      };
      const ws = new WebSocket(`wss://${target.host}:${target.wsPort ?? 443}/$iothub/websocket`, 'mqtt', options);
      return createWebSocketStream(ws) as unknown as IStream;
    }
    const address = { host: target.host, port: target.port, localAddress: this.localAddress };
    const tlsOptions = target.kind === 'iothub' ? { servername: target.servername ?? target.hubName } : target.tls ? { servername: target.tls.servername } : undefined;
    if (tlsOptions === undefined) return netConnect(address) as unknown as IStream;
    return tlsConnect({ ...address, ...tlsOptions, secureContext, rejectUnauthorized: true }) as unknown as IStream;
  }

  #dropped(client: MqttClient): void {
    this.#connected = false;
    this.ctx.open--;
    if (this.#closing) return;
    this.ctx.report.drops++;
    countError(this.ctx.report.errors, errorKey('drop', this.#lastError ?? new Error('closed by server')));
    // mqtt.js keeps unacknowledged QoS 1 publishes for a resend after reconnect; this client will not reconnect, so
    // a forced end fails their callbacks now and the window accounting stays right.
    client.end(true);
    if (this.#client === client) this.#client = undefined;
    this.ctx.onDrop(this);
  }

  startPublishing(): void {
    this.#publishing = true;
    this.pump();
  }

  stopPublishing(): void {
    this.#publishing = false;
  }

  /** Fills the in-flight window. Called on start, after every ack and after a reconnect. */
  pump(): void {
    if (this.ctx.paced) return;
    const window = this.ctx.scenario.inFlight;
    while (this.#publishing && this.#connected && this.#inFlight < window && this.ctx.takeMessage()) this.#publishOne();
  }

  /** Publishes one message if the window, the connection and the budget allow it (rate-paced runs). */
  pumpOne(): boolean {
    if (!this.#publishing || !this.#connected || this.#inFlight >= this.ctx.scenario.inFlight || !this.ctx.takeMessage()) return false;
    this.#publishOne();
    return true;
  }

  #publishOne(): void {
    const client = this.#client!;
    const { scenario, target, runId, report } = this.ctx;
    const seq = ++this.#seq;
    const sentAt = Date.now();
    const topic = telemetryTopic(target, this.id, messageId(runId, this.id, seq), sentAt);
    const payload = telemetryPayload(this.id, seq, sentAt, scenario.payloadBytes);
    this.#inFlight++;
    this.ctx.inFlight++;
    report.sent++;
    const t0 = performance.now();
    client.publish(topic, payload, { qos: scenario.qos }, (err) => {
      this.#inFlight--;
      this.ctx.inFlight--;
      // Counted on whatever report is current now: a delta lands in the interval it happened in.
      const r = this.ctx.report;
      if (err) {
        // Publishes cut off by our own close after the drain timeout are reported once, as unacked, by the worker.
        if (this.#closing) return;
        r.failed++;
        countError(r.errors, errorKey('publish', err));
      } else {
        r.acked++;
        this.ctx.lastAckAt = performance.timeOrigin + performance.now();
        recordMs(this.ctx.latency, performance.now() - t0);
      }
      this.pump();
      this.ctx.onSettled();
    });
  }

  /** Sends DISCONNECT (or, with `force`, just closes) and resolves when the client is gone. */
  close(force = false): Promise<void> {
    this.#closing = true;
    this.#publishing = false;
    const client = this.#client;
    this.#client = undefined;
    if (!client) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => client.end(true, {}, () => resolve()), 2000);
      client.end(force || this.#inFlight > 0, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
