/**
 * The result of one load-test run as written to `<scenario>-<timestamp>.json`: everything the HTML report draws and
 * `tributary bench compare` reads. `format` versions the shape; compare refuses files of another format.
 */
import type { LatencySummary } from '../simulator/histogram.ts';
import type { Scenario } from '../simulator/scenario.ts';
import type { LatencyFigures } from './percentiles.ts';

export const REPORT_FORMAT = 'tributary-load-test/1';

export interface ProcessFigures {
  /**
   * `hub` (one process, every role) or, with `--split`, `hub:ingest`, `hub:processors`, `hub:connectors`; `generator`
   * (this process and its worker threads), `mosquitto`, `clickhouse-server`, `kafka` …
   */
  name: string;
  pid: number;
  /** CPU time over the measured window, and the same as average cores busy (1.0 = one core). */
  cpuSeconds: number;
  averageCores: number;
  /** Average cores busy while publishing (the samples of the `running` phase), the figure to divide by msg/s. */
  publishingCores?: number;
  rssKiB: { start: number; peak: number; end: number };
}

/** One sample per second. Rates are per second over the sample's interval; gauges are read at its end. */
export interface TimelinePoint {
  /** Seconds since the run started (hub start excluded). */
  t: number;
  phase: string;
  /** PUBACKs per second. */
  ackRate: number;
  /** First arrivals on the log per second. */
  arrivalRate: number;
  /** p99 publish→PUBACK over the interval, ms. */
  pubackP99: number;
  acked: number;
  arrived: number;
  errors: number;
  open: number;
  /** The hub's RSS and cores busy; with `--split`, the sum over its processes. */
  hubRssKiB?: number;
  hubCores?: number;
  /** `--split`: RSS and cores busy of each hub process (`hub:ingest` …). */
  hubs?: Record<string, { rssKiB: number; cores: number }>;
  generatorRssKiB: number;
  generatorCores: number;
  /** Sum of the watched consumer groups' lag, records. */
  lag?: number;
}

export interface RunFigures {
  target: string;
  /** Publishing phase: first publish to last ack. */
  seconds: number;
  sent: number;
  acked: number;
  failed: number;
  unacked: number;
  /** Acks per second over the publishing phase. */
  rate: number;
  connected: number;
  connectFailures: number;
  drops: number;
  connectLatency: LatencySummary;
  puback: LatencyFigures;
  errors: Record<string, number>;
  processes: ProcessFigures[];
  interrupted: boolean;
}

export interface EndToEnd {
  /** Distinct messages of this run read back from `iot.device.messages`. */
  unique: number;
  duplicates: number;
  /** Distinct messages by the auth method the hub stamped on them (`sas`, `x509Certificate`). */
  byAuth: Record<string, number>;
  /** Acked by the hub but not seen on the log when the report was written (0 means nothing lost). */
  missing: number;
  /** Device send → enqueued time stamped by the ingest node. */
  enqueue?: LatencyFigures;
  /** Device send → read by a consumer of the log. */
  arrival?: LatencyFigures;
}

export interface ClickHouseFigures {
  status: 'measured' | 'not-configured' | 'no-table' | 'failed';
  note: string;
  /** Distinct messages of this run found in `{database}.messages`. */
  rows?: number;
  /** Device send → the row's insert/ingest time, when the table has such a column. */
  latency?: LatencyFigures;
}

export interface BenchReport {
  format: typeof REPORT_FORMAT;
  scenario: { name: string; description: string; load: Scenario };
  runId: string;
  startedAt: string;
  finishedAt: string;
  interrupted: boolean;
  environment: {
    node: string; cpus: number; hub: Record<string, string>;
    /** The hub's log (with `--split`, the ingest process's; `hubProcesses` lists each). */
    log: string;
    commandLine: string;
    /** The hub's processes: one with every role, or one per role group with `--split`. */
    hubProcesses?: Array<{ name: string; pid: number; roles: string; log: string }>;
  };
  setup: { hubStartSeconds: number; provisionSeconds: number; devices: number };
  tributary: RunFigures;
  endToEnd: EndToEnd;
  memory: {
    /** Hub RSS with the devices provisioned and none connected, after a GC. */
    idleRssKiB?: number;
    /** Hub RSS with every connection open (before publishing, or at the end of an idle hold), after a GC. */
    connectedRssKiB?: number;
    connections: number;
    /** (connected − idle) / connections. */
    perConnectionKiB?: number;
  };
  /** Highest lag seen per consumer group, records. */
  lag: {
    max: Record<string, number>; end: Record<string, number>;
    /**
     * `--split`: how far each telemetry group was behind its topic before the run and what the harness did about it
     * (`reset` to the end, already `fresh`, or `busy` with members of another hub; harness/fresh-groups.ts).
     */
    start?: Record<string, { behind: number; action: 'reset' | 'fresh' | 'busy'; members: number }>;
  };
  clickhouse: ClickHouseFigures;
  /** The same generator against the pre-started Mosquitto (`throughput` and `connections`). */
  baseline?: { mosquitto: RunFigures & { perConnectionKiB?: number }; ratio: number; ratioOf: string };
  timeline: TimelinePoint[];
  notes: string[];
}
