/** The built-in scenarios by name: `tributary bench <name>`. One file each; add a file and a line here for a new one. */
import connections from './connections.ts';
import smoke from './smoke.ts';
import soak from './soak.ts';
import steady10k from './steady-10k.ts';
import throughput from './throughput.ts';
import type { BenchScenario } from './types.ts';

export { defineScenario, type BenchScenario } from './types.ts';

export const SCENARIOS: Readonly<Record<string, BenchScenario>> = Object.fromEntries(
  [smoke, throughput, steady10k, connections, soak].map((s) => [s.name, s]),
);
