/**
 * Once a second: the simulator's latest progress, the hub's arrivals and consumer lag (over IPC), and CPU and RSS of
 * every process that matters — the hub (or each of its role processes with `--split`) and anything else by pid from /proc, the generator (this process with its
 * worker threads) from process.cpuUsage/memoryUsage. The timeline and the per-process figures of the report.
 */
import { createHistogram, decodeHistogram, type Histogram } from '../simulator/histogram.ts';
import { cpuSeconds, rssKiB } from '../simulator/proc.ts';
import type { Progress } from '../simulator/runner.ts';
import type { ProcessFigures, TimelinePoint } from '../report/types.ts';
import type { BenchHub } from './bench-hub.ts';
import type { HubSample } from './hub-child.ts';

interface Watched {
  name: string;
  pid: number;
  read(): { cpu: number; rss: number } | undefined;
  cpu0: number;
  lastCpu: number;
  rssStart: number;
  peak: number;
  last: number;
  /** CPU seconds and time (ms) at the first and latest sample of the publishing phase. */
  run?: { cpu0: number; t0: number; cpu: number; t: number };
}

function procReader(pid: number): () => { cpu: number; rss: number } | undefined {
  return () => {
    try {
      return { cpu: cpuSeconds(pid), rss: rssKiB(pid) };
    } catch {
      return undefined; // the process is gone
    }
  };
}

function selfReader(): { cpu: number; rss: number } {
  const u = process.cpuUsage();
  return { cpu: (u.user + u.system) / 1e6, rss: Math.round(process.memoryUsage.rss() / 1024) };
}

/** `hub` (one process with every role) or `hub:ingest`, `hub:processors`, `hub:connectors` (`--split`). */
export const isHub = (name: string) => name === 'hub' || name.startsWith('hub:');

export class Sampler {
  readonly timeline: TimelinePoint[] = [];
  readonly enqueue: Histogram = createHistogram();
  readonly arrival: Histogram = createHistogram();
  unique = 0;
  duplicates = 0;
  readonly byAuth: Record<string, number> = {};
  readonly lagMax: Record<string, number> = {};
  lagEnd: Record<string, number> = {};
  hubConnections = 0;
  progress: Progress | undefined;
  phase = 'starting';
  #watched: Watched[] = [];
  readonly #t0 = performance.now();
  #last = performance.now();
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastUniqueAt = performance.now();
  #hubSample: Promise<void> | undefined;
  #arrivedSincePoint = 0;
  #lag: number | undefined;

  constructor(private readonly hub: BenchHub | undefined, processes: Array<{ name: string; pid: number }>) {
    this.#add('generator', process.pid, selfReader);
    for (const p of processes) this.#add(p.name, p.pid, procReader(p.pid));
  }

  #add(name: string, pid: number, read: () => { cpu: number; rss: number } | undefined): void {
    const v = read();
    if (!v) return;
    this.#watched.push({ name, pid, read, cpu0: v.cpu, lastCpu: v.cpu, rssStart: v.rss, peak: v.rss, last: v.rss });
  }

  start(intervalMs = 1000): void {
    this.#timer = setInterval(() => this.tick(), intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Seconds since the last first-arrival (how long the log has been quiet). */
  get quietSeconds(): number {
    return (performance.now() - this.#lastUniqueAt) / 1000;
  }

  rssOf(name: string): number | undefined {
    return this.#watched.find((w) => w.name === name)?.last;
  }

  /** RSS of the hub: its one process, or the sum of the role processes of a `--split` run. */
  hubRssKiB(): number | undefined {
    const hubs = this.#watched.filter((w) => isHub(w.name));
    return hubs.length === 0 ? undefined : hubs.reduce((sum, w) => sum + w.last, 0);
  }

  /**
   * One sample. The hub's part (arrivals, lag) comes over IPC from a process that may be saturated — at 10k msg/s its
   * answer can take many seconds — so it runs beside the readings from /proc instead of holding them back: the CPU
   * and RSS series keep their one point per second, and the hub's figures land in the interval they arrive in.
   */
  tick(): void {
    void this.#pollHub();
    this.#record();
  }

  /** The last sample: waits for the hub's answer in flight and one more, so the final arrivals and lag are in. */
  async flush(): Promise<void> {
    await this.#pollHub();
    await this.#pollHub();
    this.#record();
  }

  #pollHub(): Promise<void> {
    if (!this.hub?.alive()) return Promise.resolve();
    this.#hubSample ??= this.hub.sample().then((s) => this.#absorb(s), () => undefined).finally(() => (this.#hubSample = undefined));
    return this.#hubSample;
  }

  #absorb(s: HubSample): void {
    this.#arrivedSincePoint += s.arrivals.unique;
    this.unique += s.arrivals.unique;
    this.duplicates += s.arrivals.duplicates;
    for (const [k, n] of Object.entries(s.arrivals.byAuth)) this.byAuth[k] = (this.byAuth[k] ?? 0) + n;
    if (s.arrivals.unique > 0) this.#lastUniqueAt = performance.now();
    if (s.arrivals.enqueue) this.enqueue.add(decodeHistogram(s.arrivals.enqueue));
    if (s.arrivals.arrival) this.arrival.add(decodeHistogram(s.arrivals.arrival));
    this.lagEnd = s.lag;
    for (const [g, n] of Object.entries(s.lag)) this.lagMax[g] = Math.max(this.lagMax[g] ?? 0, n);
    const groups = Object.values(s.lag);
    this.#lag = groups.length > 0 ? groups.reduce((a, b) => a + b, 0) : s.probeLag;
    this.hubConnections = s.connections;
  }

  #record(): void {
    const now = performance.now();
    const dt = Math.max(0.001, (now - this.#last) / 1000);
    this.#last = now;
    const arrived = this.#arrivedSincePoint;
    this.#arrivedSincePoint = 0;
    const lag = this.#lag;
    const cores: Record<string, number> = {};
    const hubs: NonNullable<TimelinePoint['hubs']> = {};
    const publishing = this.progress?.phase === 'running' && this.phase === 'running';
    for (const w of this.#watched) {
      const v = w.read();
      if (!v) continue;
      cores[w.name] = (v.cpu - w.lastCpu) / dt;
      if (publishing) w.run = w.run ? { ...w.run, cpu: v.cpu, t: now } : { cpu0: w.lastCpu, t0: now - dt * 1000, cpu: v.cpu, t: now };
      w.lastCpu = v.cpu;
      w.last = v.rss;
      w.peak = Math.max(w.peak, v.rss);
      if (w.name.startsWith('hub:')) hubs[w.name] = { rssKiB: v.rss, cores: Number(cores[w.name]!.toFixed(3)) };
    }
    const hubRss = this.hubRssKiB();
    const hubCores = Object.entries(cores).filter(([name]) => isHub(name)).reduce((sum, [, c]) => sum + c, 0);
    const p = this.progress;
    const phase = this.phase === 'running' ? (p?.phase ?? 'starting') : this.phase;
    this.timeline.push({
      t: Number(((now - this.#t0) / 1000).toFixed(2)),
      phase,
      ackRate: p?.phase === 'running' || p?.phase === 'draining' ? Math.round(p.rate) : 0,
      arrivalRate: Math.round(arrived / dt),
      pubackP99: p?.recentP99 ?? 0,
      acked: p?.totals.acked ?? 0,
      arrived: this.unique,
      errors: p?.totals.errorCount ?? 0,
      open: p?.totals.open ?? 0,
      ...(hubRss !== undefined ? { hubRssKiB: hubRss, hubCores: Number(hubCores.toFixed(3)) } : {}),
      ...(Object.keys(hubs).length > 0 ? { hubs } : {}),
      generatorRssKiB: this.rssOf('generator') ?? 0,
      generatorCores: Number((cores.generator ?? 0).toFixed(3)),
      ...(lag !== undefined ? { lag } : {}),
    });
  }

  /** CPU and RSS per process over the sampled window. */
  processes(): ProcessFigures[] {
    const seconds = Math.max(0.001, (this.#last - this.#t0) / 1000);
    return this.#watched.map((w) => {
      const cpu = w.lastCpu - w.cpu0;
      const run = w.run && w.run.t > w.run.t0 ? { publishingCores: Number(((w.run.cpu - w.run.cpu0) / ((w.run.t - w.run.t0) / 1000)).toFixed(3)) } : {};
      return { name: w.name, pid: w.pid, cpuSeconds: Number(cpu.toFixed(3)), averageCores: Number((cpu / seconds).toFixed(3)), ...run, rssKiB: { start: w.rssStart, peak: w.peak, end: w.last } };
    });
  }
}
