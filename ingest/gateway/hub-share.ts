/**
 * Hub-wide throttles across ingest nodes. IoT Hub's limits (iothub-wire.md §7.2) are per hub, but each node only sees
 * its own traffic; a node counting alone would let N nodes admit N times the limit. Every node therefore writes its
 * demand (operations asked per second, per limit) to the shared store every couple of seconds, reads the rows of the
 * nodes still alive, and sets its own bucket to a demand-weighted share (`fairShares`). The shares always add up to
 * the limit, so the hub as a whole stays within it; between two renegotiations a node's demand may shift, which makes
 * the split approximate for a few seconds — the same kind of slack IoT Hub's own distributed throttling has.
 *
 * The store's clock (`now()`) decides which nodes are alive, so node clocks do not matter. A node that stops
 * deletes its row; a crashed node's row goes stale and the others delete it.
 */
import type { Logger } from 'pino';
import type { Store } from '../../core/store/types.ts';
import { gauge } from '../../core/metrics/registry.ts';
import type { KeyedThrottle } from './throttle.ts';

/** Part of every limit split equally, so an idle node can admit its first operations before the next renegotiation. */
const RESERVED_FRACTION = 0.05;

/**
 * Splits `limit` among nodes: a reserve in equal parts, the rest max-min fair by demand (no node gets more than it
 * asked for while another asked for more than its equal part), and whatever nobody asked for in equal parts again.
 * The result always sums to `limit`.
 */
export function fairShares(limit: number, demands: readonly number[]): number[] {
  const n = demands.length;
  if (n === 0) return [];
  const reserve = (limit * RESERVED_FRACTION) / n;
  let remaining = limit - reserve * n;
  const shares: number[] = demands.map(() => reserve);
  const order = demands.map((d, i) => ({ d: Math.max(0, Number.isFinite(d) ? d : 0), i })).sort((a, b) => a.d - b.d);
  let left = n;
  for (const { d, i } of order) {
    const given = Math.min(d, remaining / left);
    shares[i] = (shares[i] ?? 0) + given;
    remaining -= given;
    left--;
  }
  return shares.map((s) => s + remaining / n);
}

export interface SharedLimit {
  /** Key in the demand JSON and metric label: `d2c`, `connect`. */
  name: string;
  throttle: KeyedThrottle;
}

interface NodeRow extends Record<string, unknown> {
  node_id: string;
  demand: unknown;
  fresh: boolean;
}

const shareGauge = gauge('tributary_ingest_hub_limit_share_per_second', "This node's share of a hub-wide throttle (operations per second).", ['limit']);
const nodesGauge = gauge('tributary_ingest_hub_limit_nodes', 'Ingest nodes sharing the hub-wide throttles.', []);

export interface HubShareOptions {
  store: Store;
  nodeId: string;
  limits: readonly SharedLimit[];
  logger: Logger;
  /** How often demand is written and shares recomputed. */
  intervalMs?: number;
  /** A node whose row is older than this is no longer counted (and is deleted). */
  staleMs?: number;
  /** For demand rates (tests pass a fake one); liveness uses the store's clock. */
  clock?: () => number;
}

export class HubShare {
  private timer: NodeJS.Timeout | undefined;
  private lastTick: number;
  private readonly clock: () => number;
  private running: Promise<void> | undefined;
  private readonly intervalMs: number;
  private readonly staleMs: number;

  constructor(private readonly o: HubShareOptions) {
    this.intervalMs = o.intervalMs ?? 2000;
    this.staleMs = o.staleMs ?? Math.max(3 * this.intervalMs, 6000);
    this.clock = o.clock ?? Date.now;
    this.lastTick = this.clock();
  }

  /** This node's current share of each limit, by name (tests, logs). */
  readonly shares = new Map<string, number>();

  /** Registers the node and takes its first share before the node admits anything. */
  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => {
      // One renegotiation at a time: a slow store must not pile them up.
      this.running ??= this.tick()
        .catch((err: unknown) => this.o.logger.warn({ err }, 'hub-wide throttle renegotiation failed; keeping the previous share'))
        .finally(() => { this.running = undefined; });
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
    await this.o.store.query('DELETE FROM ingest_nodes WHERE node_id = $1', [this.o.nodeId]).catch(() => undefined);
  }

  /** One renegotiation: write this node's demand, read everyone's, set this node's shares. */
  async tick(): Promise<void> {
    const now = this.clock();
    const seconds = Math.max(0.001, (now - this.lastTick) / 1000);
    this.lastTick = now;
    const demand: Record<string, number> = {};
    for (const l of this.o.limits) demand[l.name] = l.throttle.takeSharedDemand() / seconds;

    await this.o.store.query(
      `INSERT INTO ingest_nodes (node_id, demand, heartbeat_at) VALUES ($1, $2::jsonb, now())
       ON CONFLICT (node_id) DO UPDATE SET demand = EXCLUDED.demand, heartbeat_at = now()`,
      [this.o.nodeId, JSON.stringify(demand)],
    );
    const staleSeconds = this.staleMs / 1000;
    const rows = await this.o.store.query<NodeRow>(
      `SELECT node_id, demand, heartbeat_at > now() - make_interval(secs => $1) AS fresh FROM ingest_nodes`,
      [staleSeconds],
    );
    const live = rows.filter((r) => r.fresh || r.node_id === this.o.nodeId);
    if (live.length < rows.length) {
      // Long gone nodes only (10× the staleness), so a node that paused briefly is not deleted under its own feet.
      await this.o.store.query(`DELETE FROM ingest_nodes WHERE heartbeat_at < now() - make_interval(secs => $1)`, [staleSeconds * 10]);
    }
    nodesGauge.set(live.length);
    const own = live.findIndex((r) => r.node_id === this.o.nodeId);
    for (const l of this.o.limits) {
      const demands = live.map((r) => demandOf(r.demand, l.name));
      const share = fairShares(l.throttle.sharedLimit, demands)[own] ?? l.throttle.sharedLimit;
      l.throttle.setSharedRate(share);
      this.shares.set(l.name, share);
      shareGauge.set({ limit: l.name }, share);
    }
  }
}

function demandOf(value: unknown, name: string): number {
  const o = (typeof value === 'string' ? JSON.parse(value) : value) as Record<string, unknown> | null;
  const d = o?.[name];
  return typeof d === 'number' && Number.isFinite(d) ? d : 0;
}
