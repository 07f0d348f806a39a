/**
 * Micro-benchmark of the router's own cost: records/s through `process()` alone — no log, no consumer, no produce —
 * with the 10 routes of `npm run bench -- processors`. It runs each condition evaluator over the same records in the
 * same process (figures and a ratio, DESIGN.md §10), so a change to evaluation shows up without Kafka's noise, and
 * the compiled one again on records without endpoint-scoped enrichments (the cost of re-encoding per endpoint).
 *
 *   node --import tsx processors/router/router-process.bench.ts [--records N] [--rounds R] [--evaluators compiled,json-rules-engine]
 *   node --cpu-prof --import tsx processors/router/router-process.bench.ts --evaluators json-rules-engine   (to profile)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TOPICS } from '../../core/log/topics.ts';
import type { LogRecord } from '../../core/log/types.ts';
import { componentLogger } from '../../core/logging/logger.ts';
import { AvroSerde, InProcessSchemaRegistry, SchemaCatalog, registerAllSchemas, type EnrichedDeviceMessage } from '../../core/serde/index.ts';
import { PgliteStore, migrate } from '../../core/store/index.ts';
import { formatTable } from '../../load-tests/table.ts';
import { ENRICHMENT_ENDPOINTS_HEADER } from '../enrich/enrichments.ts';
import { createRouter } from './router.ts';
import { RouteStore } from './routes.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    evaluators: { type: 'string', default: 'json-rules-engine,compiled' },
  },
});
const count = Number(args.records);
const rounds = Number(args.rounds);
const evaluators = args.evaluators.split(',');

const dataDir = await mkdtemp(join(tmpdir(), 'tributary-router-bench-'));
const registry = await InProcessSchemaRegistry.open({ dataDir });
const catalog = SchemaCatalog.load();
await registerAllSchemas(registry, catalog);
const serde = new AvroSerde(registry, catalog);
const store = await PgliteStore.open();
try {
  await migrate(store);
  const routes = new RouteStore(store);
  for (const name of ['hot', 'alerts', 'b43', 'firmware', 'archive', 'other']) await routes.putEndpoint({ name, type: 'kafka' });
  const routeList = [
    { name: 'r01-hot', condition: '$body.temperature > 30', endpointNames: ['hot'] },
    { name: 'r02-critical', condition: "level = 'critical'", endpointNames: ['alerts'] },
    { name: 'r03-b43', condition: "$twin.tags.building = '43'", endpointNames: ['b43'] },
    { name: 'r04-hot-b43', condition: "$body.temperature > 30 AND $twin.tags.building = '43'", endpointNames: ['alerts', 'b43'] },
    { name: 'r05-fw', condition: "IS_DEFINED(firmware) AND firmware <> '1.0.0'", endpointNames: ['firmware'] },
    { name: 'r06-cold', condition: '$body.temperature < 12 OR $body.humidity > 95', endpointNames: ['alerts'] },
    { name: 'r07-device', condition: "$connectionDeviceId = 'device-7'", endpointNames: ['archive'] },
    { name: 'r08-floor', condition: '$twin.tags.floor = 3 AND NOT ($body.humidity < 50)', endpointNames: ['archive'] },
    { name: 'r09-nested', condition: "($body.temperature > 25 OR level = 'warn') AND $twin.tags.building <> '0'", endpointNames: ['hot'] },
    { name: 'r10-off', condition: 'true', endpointNames: ['archive'], isEnabled: false },
  ];
  for (const r of routeList) await routes.putRoute({ source: 'DeviceMessages', ...r });
  await routes.putFallback({ endpointNames: ['other'] });

  // The same input the Kafka bench gives the router: enrich's output, one scoped enrichment (building → hot only).
  const levels = ['info', 'warn', 'critical'];
  const scope = Buffer.from(JSON.stringify({ building: ['hot'] }));
  const records: LogRecord[] = await Promise.all(Array.from({ length: count }, async (_, i) => {
    const d = i % 200;
    const message: EnrichedDeviceMessage = {
      messageId: `m-${i}`, contentType: 'application/json', contentEncoding: 'utf-8', enqueuedTime: Date.now(),
      connectionDeviceId: `device-${d}`, ingestNode: 'bench', protocol: 'Mqtt',
      properties: { level: levels[i % 3]!, ...(i % 5 === 0 ? { firmware: i % 10 === 0 ? '1.0.0' : '1.1.0' } : {}) },
      enrichments: { building: String(d % 50) },
      twin: JSON.stringify({ version: 2, tags: { building: String(d % 50), floor: d % 7 }, properties: { desired: {}, reported: {} } }),
      body: Buffer.from(JSON.stringify({ temperature: 10 + (i % 25), humidity: (i * 7) % 100, seq: i })),
    };
    const value = await serde.encode(TOPICS.deviceMessagesEnriched, message);
    return { topic: TOPICS.deviceMessagesEnriched, partition: 0, offset: i, key: Buffer.from(`device-${d}`), value, headers: { [ENRICHMENT_ENDPOINTS_HEADER]: scope }, timestamp: Date.now() };
  }));

  // The same records without the scope header: what applying endpoint-scoped enrichments (re-encoding) costs.
  const unscoped = records.map((r) => ({ ...r, headers: {} }));
  const runs = evaluators.flatMap((evaluator) => [
    { label: evaluator, evaluator, input: records },
    ...(evaluator === 'compiled' ? [{ label: 'compiled, no scoped enrichments', evaluator, input: unscoped }] : []),
  ]);

  // Rounds interleave the evaluators, so a noisy neighbour on a shared machine slows all of them alike; best round wins.
  const logger = componentLogger('router-bench');
  const routers = await Promise.all(runs.map((run) => createRouter({ routes }).create({ ...defaults(), evaluator: run.evaluator } as never, { serde, logger })));
  const best = runs.map(() => 0);
  const outputs = runs.map(() => 0);
  for (let round = 0; round < rounds; round++) {
    for (const [i, run] of runs.entries()) {
      let n = 0;
      const t0 = performance.now();
      for (const record of run.input) n += (await routers[i]!.process(record, { logger, headers: record.headers })).length;
      best[i] = Math.max(best[i]!, count / ((performance.now() - t0) / 1000));
      outputs[i] = n;
    }
  }
  const rates = new Map(runs.map((run, i) => [run.label, best[i]!] as const));
  const rows = runs.map((run, i) => [run.label, count.toLocaleString(), Math.round(best[i]!).toLocaleString(), outputs[i]!.toLocaleString()]);
  console.log(formatTable(['evaluator', 'records', 'records/s (best round)', 'outputs'], rows, [0]));
  const base = rates.get('json-rules-engine');
  if (base) for (const [label, rate] of rates) if (label !== 'json-rules-engine') console.log(`${label} / json-rules-engine: ${(rate / base).toFixed(2)}x`);
} finally {
  await store.close();
  await registry.close();
  await rm(dataDir, { recursive: true, force: true });
}

function defaults() {
  return {
    topics: { DeviceMessages: TOPICS.deviceMessagesEnriched, TwinChangeEvents: TOPICS.twinChanges, DeviceLifecycleEvents: TOPICS.deviceLifecycle, DeviceConnectionStateEvents: TOPICS.deviceConnections },
    sources: ['DeviceMessages'],
    reloadIntervalMs: 2000,
    endpointPartitions: 3,
  };
}
