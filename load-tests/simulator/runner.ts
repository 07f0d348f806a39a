/**
 * Runs one scenario against one target: starts the worker threads, waits for the connect phase, opens the publishing
 * phase in all workers at once, stops on time / budget / abort, drains, and folds the workers' reports into totals.
 * Ctrl-C is the caller's AbortSignal: the run stops the same way and returns a result marked `interrupted`.
 */
import { randomBytes } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../../core/threads/ts-worker.ts';
import { createHistogram, decodeHistogram, encodeHistogram, summarize, type LatencySummary } from './histogram.ts';
import { partition, type Scenario } from './scenario.ts';
import { Totals } from './stats.ts';
import type { Target } from './target.ts';
import type { FromWorker, ToWorker, WorkerInput } from './worker.ts';

export type Phase = 'connecting' | 'running' | 'holding' | 'draining';

export interface Progress {
  phase: Phase;
  target: string;
  elapsedSeconds: number;
  /** Undefined when the run is bounded by a message count or held by the caller. */
  remainingSeconds: number | undefined;
  /** Acks per second over the last progress interval. */
  rate: number;
  /** p99 publish→ack latency over the last progress interval, ms. */
  recentP99: number;
  totals: Totals;
  devices: number;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  progressIntervalMs?: number;
  /** Idle scenarios: called once every device has connected (or failed); the connections stay open until it resolves. */
  hold?: (totals: Totals) => Promise<void>;
  /** Telemetry scenarios: awaited after the connect phase, before publishing starts (e.g. to read the server's RSS). */
  beforeGo?: (totals: Totals) => Promise<void>;
  /** Prefix of every message id (`{runId}.{device}.{seq}`), so a consumer can pick this run's messages; random by default. */
  runId?: string;
}

export interface RunResult {
  target: string;
  scenario: Scenario;
  interrupted: boolean;
  devices: number;
  connected: number;
  connectFailures: number;
  /** Publishing phase: from `go` to the last ack. */
  seconds: number;
  sent: number;
  acked: number;
  failed: number;
  unacked: number;
  drops: number;
  /** Acks per second over the publishing phase. */
  rate: number;
  latency: LatencySummary;
  connectLatency: LatencySummary;
  errors: Record<string, number>;
  /** The full histograms (compressed HdrHistogram, µs) for percentile plots. */
  histograms: { latency: string; connectLatency: string };
  /** The message id prefix of this run. */
  runId: string;
}

const REPORT_INTERVAL_MS = 250;

function startWorker(input: WorkerInput): Worker {
  return startTsWorker(new URL('./worker.ts', import.meta.url), input);
}

export async function runScenario(scenario: Scenario, target: Target, options: RunOptions = {}): Promise<RunResult> {
  const runId = options.runId ?? randomBytes(4).toString('hex');
  const slices = partition(scenario.devices, scenario.workers);
  const budgets = scenario.messages === undefined ? undefined : partition(scenario.messages, scenario.workers);
  const totals = new Totals();
  let recent = createHistogram();
  let recentAcked = 0;
  let lastAckAt = 0;
  let unacked = 0;

  const workers = slices.map((slice, index) => {
    const input: WorkerInput = {
      index, scenario, target, runId, start: slice.start, end: slice.end,
      budget: budgets ? budgets[index]!.end - budgets[index]!.start : undefined,
      connectRate: scenario.connectRate / scenario.workers,
      reportIntervalMs: REPORT_INTERVAL_MS,
      total: slices.length,
    };
    return startWorker(input);
  });

  const connected = new Set<number>();
  const finished = new Set<number>();
  const done = new Set<number>();
  let wake: () => void = () => {};
  const changed = () => wake();
  const failures: Error[] = [];

  workers.forEach((w, i) => {
    w.on('message', (m: FromWorker) => {
      if (m.type === 'report' || m.type === 'done') {
        totals.add(i, m.report);
        if (m.report.latency) recent.add(decodeHistogram(m.report.latency));
        recentAcked += m.report.acked;
        lastAckAt = Math.max(lastAckAt, m.lastAckAt);
      }
      if (m.type === 'connected') connected.add(i);
      if (m.type === 'finished') finished.add(i);
      if (m.type === 'done') {
        unacked += m.unacked;
        done.add(i);
      }
      changed();
    });
    w.on('error', (err) => {
      failures.push(err);
      done.add(i);
      connected.add(i);
      changed();
    });
    w.on('exit', () => {
      done.add(i);
      connected.add(i);
      changed();
    });
  });

  const until = (cond: () => boolean, timeoutMs = Infinity) =>
    new Promise<void>((resolve) => {
      if (cond()) return resolve();
      const timer = Number.isFinite(timeoutMs) ? setTimeout(finish, timeoutMs) : undefined;
      const onAbort = () => finish();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      function finish() {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        wake = () => {};
        resolve();
      }
      wake = () => cond() && finish();
    });

  const broadcast = (m: ToWorker) => workers.forEach((w, i) => !done.has(i) && w.postMessage(m));
  const started = performance.now();
  let phase: Phase = 'connecting';
  let goAt = 0;
  let stopAt: number | undefined;
  let lastTick = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    const elapsed = (now - (goAt || started)) / 1000;
    const p: Progress = {
      phase, target: target.name, elapsedSeconds: elapsed,
      remainingSeconds: phase === 'running' && stopAt !== undefined ? Math.max(0, (stopAt - now) / 1000) : undefined,
      rate: recentAcked / ((now - lastTick) / 1000), recentP99: summarize(recent).p99, totals, devices: scenario.devices,
    };
    lastTick = now;
    recentAcked = 0;
    recent = createHistogram();
    options.onProgress?.(p);
  }, options.progressIntervalMs ?? 1000);

  try {
    await until(() => connected.size === workers.length);
    if (!options.signal?.aborted) {
      if (scenario.mode === 'idle') {
        phase = 'holding';
        // Let the last reports (open connection gauges) arrive before the caller looks at the totals.
        await new Promise((r) => setTimeout(r, REPORT_INTERVAL_MS * 2));
        await Promise.race([options.hold?.(totals), abortPromise(options.signal)]);
      } else if (options.beforeGo) {
        await new Promise((r) => setTimeout(r, REPORT_INTERVAL_MS * 2));
        await Promise.race([options.beforeGo(totals), abortPromise(options.signal)]);
      }
      if (scenario.mode === 'telemetry' && !options.signal?.aborted) {
        phase = 'running';
        goAt = performance.now();
        broadcast({ type: 'go' });
        if (scenario.durationSeconds !== undefined) {
          stopAt = goAt + scenario.durationSeconds * 1000;
          await until(() => false, scenario.durationSeconds * 1000);
        } else {
          await until(() => finished.size === workers.length);
        }
      }
    }
    phase = 'draining';
    broadcast({ type: 'stop' });
    // The worker drains, then disconnects in batches; a worker that hangs past this is terminated.
    await untilNoAbort(() => done.size === workers.length, scenario.drainTimeoutMs + 30_000, (w) => (wake = w));
  } finally {
    clearInterval(ticker);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failures.length > 0) throw failures[0];

  const end = lastAckAt > 0 ? lastAckAt - performance.timeOrigin : performance.now();
  const seconds = goAt > 0 ? Math.max(0.001, (end - goAt) / 1000) : 0;
  return {
    target: target.name,
    scenario,
    interrupted: options.signal?.aborted ?? false,
    devices: scenario.devices,
    connected: totals.connects,
    connectFailures: totals.connectFailures,
    seconds,
    sent: totals.sent,
    acked: totals.acked,
    failed: totals.failed,
    unacked,
    drops: totals.drops,
    rate: seconds > 0 ? totals.acked / seconds : 0,
    latency: totals.latencySummary(),
    connectLatency: summarize(totals.connectLatency),
    errors: { ...totals.errors },
    histograms: { latency: encodeHistogram(totals.latency), connectLatency: encodeHistogram(totals.connectLatency) },
    runId,
  };
}

function abortPromise(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return;
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Like `until` but deaf to the abort signal: once stopping, the workers get their drain time even after Ctrl-C. */
function untilNoAbort(cond: () => boolean, timeoutMs: number, setWake: (w: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    if (cond()) return resolve();
    const timer = setTimeout(resolve, timeoutMs);
    setWake(() => {
      if (cond()) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}
