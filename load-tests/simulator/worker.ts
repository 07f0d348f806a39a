/**
 * Worker thread driving one slice of the devices (node:worker_threads, so the generator uses every core). Protocol
 * with the runner (runner.ts):
 *   runner → worker: `go` (start publishing), `stop` (stop, drain, disconnect)
 *   worker → runner: `report` every interval, `connected` after the connect phase, `finished` when a message budget
 *                    is spent and acknowledged, `done` (final report) after disconnecting
 */
import { createSecureContext } from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';
import { SimDevice, type DeviceContext } from './device.ts';
import { createHistogram, encodeHistogram } from './histogram.ts';
import { RampPacer, TokenBucket, sleep } from './rate-limiter.ts';
import { deviceId, usesX509, type Scenario } from './scenario.ts';
import { emptyReport, type WorkerReport } from './stats.ts';
import type { Target } from './target.ts';

export interface WorkerInput {
  index: number;
  scenario: Scenario;
  target: Target;
  runId: string;
  /** Device indexes [start, end) this worker drives. */
  start: number;
  end: number;
  /** Messages this worker sends (message-count scenarios); undefined for duration-bound runs. */
  budget: number | undefined;
  connectRate: number;
  reportIntervalMs: number;
  /** Number of workers: each paces messageRate / total. */
  total: number;
}

export type ToWorker = { type: 'go' } | { type: 'stop' };
export type FromWorker =
  | { type: 'report'; report: WorkerReport; lastAckAt: number }
  | { type: 'connected' }
  | { type: 'finished' }
  | { type: 'done'; report: WorkerReport; lastAckAt: number; unacked: number };

const input = workerData as WorkerInput;
const port = parentPort!;
const { scenario, target } = input;
const post = (m: FromWorker) => port.postMessage(m);

const stopping = new AbortController();
let remaining = input.budget ?? Infinity;
let finishedSent = false;
let publishing = false;
const limiter = new TokenBucket(input.connectRate);
/** Set when the publishing phase starts, for rate-paced scenarios (each worker paces its share of the rate). */
let pacer: RampPacer | undefined;
const caPem = target.kind === 'iothub' ? target.caPem : target.tls?.caPem;

const ctx: DeviceContext = {
  scenario,
  target,
  runId: input.runId,
  // One SecureContext for all devices: parsing the CA per connection would cost more than the handshake.
  secureContext: caPem !== undefined ? createSecureContext({ ca: caPem }) : undefined,
  x509SecureContext: target.kind === 'iothub' && target.x509 ? createSecureContext({ ca: target.caPem, cert: target.x509.certPem, key: target.x509.keyPem }) : undefined,
  report: emptyReport(),
  latency: createHistogram(),
  connectLatency: createHistogram(),
  paced: false,
  inFlight: 0,
  open: 0,
  lastAckAt: 0,
  takeMessage() {
    if (remaining <= 0) return false;
    remaining--;
    return true;
  },
  onSettled() {
    if (!finishedSent && remaining <= 0 && ctx.inFlight === 0) {
      finishedSent = true;
      post({ type: 'finished' });
    }
  },
  onDrop(device) {
    if (scenario.reconnect && !stopping.signal.aborted) void reconnect(device);
  },
};

/** Takes the interval's deltas and histograms, leaving fresh ones in place. */
function flush(): WorkerReport {
  const r = ctx.report;
  ctx.report = emptyReport();
  if (ctx.latency.totalCount > 0) r.latency = encodeHistogram(ctx.latency);
  if (ctx.connectLatency.totalCount > 0) r.connectLatency = encodeHistogram(ctx.connectLatency);
  ctx.latency.reset();
  ctx.connectLatency.reset();
  r.open = ctx.open;
  r.inFlight = ctx.inFlight;
  return r;
}

async function reconnect(device: SimDevice): Promise<void> {
  while (!stopping.signal.aborted) {
    if (!(await limiter.take(stopping.signal))) return;
    if (await device.connect()) {
      if (stopping.signal.aborted) return void device.close();
      if (publishing) device.startPublishing();
      return;
    }
    await sleep(1000, stopping.signal);
  }
}

const devices: SimDevice[] = [];
for (let i = input.start; i < input.end; i++) {
  const local = scenario.localAddresses?.[i % scenario.localAddresses.length];
  devices.push(new SimDevice(deviceId(scenario, i), ctx, local, target.kind === 'iothub' && usesX509(scenario.authMix, i)));
}

/**
 * Rate-paced runs: acks do not pull the next message; a ticker hands the pacer's allowance out round-robin, one
 * message per device per turn, to the devices with room in their in-flight window.
 */
let cursor = 0;
let pacerTicker: ReturnType<typeof setInterval> | undefined;
function paceTick(): void {
  if (!pacer) return;
  let allowance = pacer.available();
  // One full turn without a publish means every device is full or disconnected: wait for the next tick.
  for (let idle = 0; allowance > 0 && idle < devices.length && remaining > 0; ) {
    const d = devices[cursor++ % devices.length]!;
    if (d.pumpOne()) {
      pacer.take();
      allowance--;
      idle = 0;
    } else {
      idle++;
    }
  }
}

const reporter = setInterval(() => post({ type: 'report', report: flush(), lastAckAt: ctx.lastAckAt }), input.reportIntervalMs);

port.on('message', (m: ToWorker) => {
  if (m.type === 'go' && !stopping.signal.aborted) {
    publishing = true;
    if (scenario.messageRate !== undefined) {
      pacer = new RampPacer(scenario.messageRate / input.total, scenario.rampSeconds);
      ctx.paced = true;
      pacerTicker = setInterval(paceTick, 5);
    }
    for (const d of devices) d.startPublishing();
    if (input.budget !== undefined) ctx.onSettled();
  } else if (m.type === 'stop') {
    stopping.abort();
  }
});

// Connect phase: at most `connectRate` new connections per second, each handshake running concurrently.
const pending: Array<Promise<boolean>> = [];
for (const d of devices) {
  if (!(await limiter.take(stopping.signal))) break;
  pending.push(d.connect());
}
await Promise.all(pending);
post({ type: 'connected' });

await new Promise<void>((resolve) => (stopping.signal.aborted ? resolve() : stopping.signal.addEventListener('abort', () => resolve(), { once: true })));
publishing = false;
clearInterval(pacerTicker);
for (const d of devices) d.stopPublishing();

// Drain: give outstanding publishes their acks (they count), up to the scenario's drain timeout.
const drainUntil = performance.now() + scenario.drainTimeoutMs;
while (ctx.inFlight > 0 && performance.now() < drainUntil) await sleep(20);
const unacked = ctx.inFlight;

// Disconnect in batches so thousands of DISCONNECTs do not land in one tick.
for (let i = 0; i < devices.length; i += 500) await Promise.all(devices.slice(i, i + 500).map((d) => d.close()));
clearInterval(reporter);
post({ type: 'done', report: flush(), lastAckAt: ctx.lastAckAt, unacked });
port.close();
