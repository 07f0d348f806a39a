/** Benchmarks runnable as `tributary bench <name>` / `npm run bench -- <name>`; each prints figures and ratios. */
export interface Benchmark {
  run(argv: string[]): Promise<void>;
}

export const BENCHMARKS: Record<string, () => Promise<Benchmark>> = {
  log: () => import('../../core/log/log.bench.ts'),
  ingest: () => import('../../load-tests/ingest.bench.ts'),
  connections: () => import('../../load-tests/connections.bench.ts'),
  processors: () => import('../../processors/processors.bench.ts'),
};
