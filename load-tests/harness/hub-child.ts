/**
 * The hub under test, in its own process (forked by hub.ts with an IPC channel): `startHub` from cli/hub.ts, exactly
 * as `npm start` composes it, on a fresh data dir, with every port ephemeral and bound to 127.0.0.1. A separate
 * process keeps the server's CPU and RSS apart from the load generator's (read from /proc by the parent), and keeps
 * the generator off the hub's event loop.
 *
 * Platform: whatever the environment says — the embedded log and PGlite by default, Kafka with
 * TRIBUTARY_KAFKA_BROKERS, PostgreSQL with TRIBUTARY_DATABASE_URL, and so on (core/config). Roles: TRIBUTARY_ROLES,
 * all of them by default; `--split` forks one of these per role group (split.ts).
 *
 * It also hosts the arrival probe: a consumer of `iot.device.messages` that counts this run's messages and times them
 * (the embedded log serves one process only, so the probe must live where the log is). Its cost — one Avro decode per
 * message — is part of the hub's CPU figure; docs/load-testing.md says so.
 */
import { startHub, type RunningHub } from '../../cli/hub.ts';
import { loadConfig } from '../../core/config/index.ts';
import { TOPICS } from '../../core/log/topics.ts';
import type { Consumer } from '../../core/log/types.ts';
import type { DeviceMessage } from '../../core/serde/index.ts';
import { SENT_AT_PROPERTY } from '../simulator/target.ts';
import { ArrivalTracker, type ArrivalDelta } from './arrivals.ts';

export interface HubChildInput {
  dataDir: string;
  /** Consumer groups whose lag is reported (group, topic); absent groups count as no lag figure. */
  lagGroups: Array<{ group: string; topic: string }>;
  /**
   * Count a group that has committed nothing as behind by the whole topic instead of leaving it out. `--split` sets it:
   * every role runs there, so a group without commits is one whose topic appeared during the run (iot.route.events on a
   * fresh Kafka) and whose consumer reads it from the beginning.
   */
  countUncommitted?: boolean;
}

export interface HubChildReady {
  type: 'ready';
  pid: number;
  httpsPort: number;
  /** Absent when this process runs no ingest role (the processors and connectors processes of `--split`). */
  mqttPort: number | undefined;
  caPem: string;
  hubName: string;
  /** Where the log, store and registry are, for the report. */
  platform: Record<string, string>;
  logKind: 'kafka' | 'embedded';
}

export type ToHubChild =
  | { type: 'watch'; id: number; runId: string }
  | { type: 'sample'; id: number }
  | { type: 'gc'; id: number }
  | { type: 'stop' };

export interface HubSample {
  arrivals: ArrivalDelta;
  /** Records behind per group (end offset − committed offset, summed over partitions). */
  lag: Record<string, number>;
  /** Records on the topic the probe has not read yet. */
  probeLag: number | undefined;
  connections: number;
}

export type FromHubChild =
  | HubChildReady
  | { type: 'reply'; id: number; sample?: HubSample; error?: string };

const send = (m: FromHubChild) => process.send?.(m);

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as HubChildInput;
  const config = loadConfig({
    env: {
      TRIBUTARY_LOG_LEVEL: 'warn',
      ...process.env,
      TRIBUTARY_DATA_DIR: input.dataDir,
      TRIBUTARY_PORTS_HTTPS: '0',
      TRIBUTARY_PORTS_MQTTS: '0',
      TRIBUTARY_OPS_PORT: '0',
      // The IP first: it becomes the HostName of the service connection string the bench provisions through.
      TRIBUTARY_HOST_NAMES: '127.0.0.1,localhost',
    },
  });
  // Without the ingest role (`--split` runs processors and connectors in processes of their own) there is no MQTT port;
  // the parent knows which child takes the devices and the probe.
  const hub = await startHub(config, { listenHost: '127.0.0.1' });
  let tracker: ArrivalTracker | undefined;
  let consumer: Consumer | undefined;
  const lastRead = new Map<number, number>();

  process.on('message', (m: ToHubChild) => {
    void handle(m).catch((err: unknown) => {
      if ('id' in m) send({ type: 'reply', id: m.id, error: (err as Error).stack ?? String(err) });
    });
  });

  async function handle(m: ToHubChild): Promise<void> {
    switch (m.type) {
      case 'watch': {
        tracker = new ArrivalTracker(m.runId);
        consumer = await startProbe(hub, tracker, lastRead, m.runId);
        send({ type: 'reply', id: m.id });
        return;
      }
      case 'sample':
        send({ type: 'reply', id: m.id, sample: await sample(hub, input, tracker, lastRead) });
        return;
      case 'gc':
        // Forked with --expose-gc: two passes also collect what the first one's finalizers released.
        (globalThis as { gc?: () => void }).gc?.();
        (globalThis as { gc?: () => void }).gc?.();
        send({ type: 'reply', id: m.id });
        return;
      case 'stop':
        await consumer?.stop().catch(() => undefined);
        await hub.close();
        process.exit(0);
    }
  }

  // The parent gone (Ctrl-C twice, crash) must not leave a hub holding ports, files and Kafka connections.
  process.on('disconnect', () => void hub.close().finally(() => process.exit(0)));
  process.on('SIGINT', () => {}); // the parent owns Ctrl-C and stops us with `stop`
  process.on('SIGTERM', () => void hub.close().finally(() => process.exit(0)));

  send({
    type: 'ready', pid: process.pid, httpsPort: hub.httpsPort, mqttPort: hub.mqttPort, caPem: hub.tls.caPem,
    hubName: config.hostNames[0]!, platform: { ...hub.platform.describe }, logKind: hub.platform.log.kind,
  });
}

async function startProbe(hub: RunningHub, tracker: ArrivalTracker, lastRead: Map<number, number>, runId: string): Promise<Consumer> {
  const { log, serde } = hub.platform;
  // A group of its own that never commits: it starts at the end of the topic and leaves nothing behind in Kafka.
  const consumer = log.consumer({ groupId: `tributary-bench-probe-${runId}`, topics: [TOPICS.deviceMessages], fromBeginning: false, maxBatchRecords: 2000 });
  await consumer.start(async (batch) => {
    const arrivedAt = Date.now();
    for (const r of batch.records) {
      if (r.value === null) continue;
      const m = await serde.decode<DeviceMessage>(r.value, TOPICS.deviceMessages);
      if (!tracker.owns(m.messageId)) continue;
      const sent = Number(m.properties?.[SENT_AT_PROPERTY]);
      tracker.record(m.messageId, Number.isFinite(sent) ? sent : undefined, m.enqueuedTime, arrivedAt, m.connectionAuthMethod);
    }
    lastRead.set(batch.partition, batch.nextOffset);
  });
  // Publishing must not start before the probe owns every partition, or the first messages would pass unseen.
  const { partitions } = await log.describeTopic(TOPICS.deviceMessages);
  const until = Date.now() + 60_000;
  while (consumer.assignment().length < partitions && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  if (consumer.assignment().length < partitions) throw new Error(`the arrival probe got ${consumer.assignment().length} of ${partitions} partitions of ${TOPICS.deviceMessages} within 60 s`);
  // An assignment is there before the first fetch resolves its start offset; give it that fetch.
  await new Promise((r) => setTimeout(r, log.kind === 'kafka' ? 2000 : 200));
  // Where the probe starts (the end, fromBeginning false): the base for its lag until it has read a batch there.
  for (const o of await log.endOffsets(TOPICS.deviceMessages)) if (!lastRead.has(o.partition)) lastRead.set(o.partition, o.offset);
  return consumer;
}

async function sample(hub: RunningHub, input: HubChildInput, tracker: ArrivalTracker | undefined, lastRead: Map<number, number>): Promise<HubSample> {
  const { log } = hub.platform;
  const lag: Record<string, number> = {};
  const ends = new Map<string, Map<number, number>>();
  const endsOf = async (topic: string) => {
    let e = ends.get(topic);
    if (!e) ends.set(topic, (e = new Map((await log.endOffsets(topic)).map((o) => [o.partition, o.offset]))));
    return e;
  };
  for (const { group, topic } of input.lagGroups) {
    const committed = await log.committedOffsets(group, topic).catch(() => []);
    if (committed.length === 0) {
      if (!input.countUncommitted) continue;
      const end = await endsOf(topic).catch(() => undefined); // not created yet: nothing to be behind on
      if (end) lag[group] = [...end.values()].reduce((a, b) => a + b, 0);
      continue;
    }
    const end = await endsOf(topic);
    lag[group] = committed.reduce((sum, o) => sum + Math.max(0, (end.get(o.partition) ?? o.offset) - o.offset), 0);
  }
  let probeLag: number | undefined;
  if (tracker) {
    const end = await endsOf(TOPICS.deviceMessages);
    probeLag = [...lastRead].reduce((sum, [p, next]) => sum + Math.max(0, (end.get(p) ?? next) - next), 0);
  }
  return {
    arrivals: tracker?.takeDelta() ?? { unique: 0, duplicates: 0, untimed: 0, byAuth: {} },
    lag,
    probeLag,
    connections: hub.ingest?.connectionCount() ?? 0,
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`tributary bench hub: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
