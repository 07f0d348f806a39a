/** Benchmarks runnable as `tributary bench <name>` / `npm run bench -- <name>`; each prints figures and ratios. */
export interface Benchmark {
  run(argv: string[]): Promise<void>;
}

/** A load-test scenario (load-tests/scenarios/), run by the harness that writes the JSON and HTML reports. */
const scenario = (name: string) => async (): Promise<Benchmark> => (await import('../../load-tests/harness/run-bench.ts')).scenarioBenchmark(name);

export const BENCHMARKS: Record<string, () => Promise<Benchmark>> = {
  log: () => import('../../core/log/log.bench.ts'),
  ingest: () => import('../../load-tests/ingest.bench.ts'),
  // Hub CPU µs per QoS 1 message (Kafka and embedded) and heap per idle TLS connection: figures that hold on a busy machine.
  'ingest-cost': () => import('../../ingest/cost.bench.ts'),
  smoke: scenario('smoke'),
  throughput: scenario('throughput'),
  'steady-10k': scenario('steady-10k'),
  connections: scenario('connections'),
  soak: scenario('soak'),
  compare: () => import('../../load-tests/report/compare.ts'),
  // The idle-connection memory bench with its Mosquitto baseline (issue 5), before the scenario harness existed.
  'connections-memory': () => import('../../load-tests/connections.bench.ts'),
  processors: () => import('../../processors/processors.bench.ts'),
  // Twin query latency over N twins against hand-written SQL (issue 8).
  'twins-query': () => import('../../service/query/query.bench.ts'),
  twins: () => import('../../processors/twins/twins.bench.ts'),
  connectors: () => import('../../connectors/connectors.bench.ts'),
};
