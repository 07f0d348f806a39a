/**
 * `--split` on a shared Kafka: a fresh start for the telemetry consumer groups of the run.
 *
 * The processors and connectors join consumer groups with fixed names (`tributary-processor-enrich`,
 * `tributary-connector-clickhouse-events` …, shared by every process running the role, as in production), and their
 * committed offsets outlive a run. A run that starts behind what an earlier run left (a single-process steady-10k
 * leaves millions of records unenriched) would measure the backlog, not its own load. A group without commits is
 * worse still: the processors read `fromBeginning`, i.e. the topic's whole retained history.
 *
 * We choose the fresh start over only reporting the backlog: before the processors and connectors processes start,
 * every such group that has no members is moved to the end of its topic (what `kafka-consumer-groups.sh
 * --reset-offsets --to-latest` does). The skipped backlog is said in the report's notes. A group with members is
 * someone else's live pipeline on this Kafka: it is left alone, and the note says it is shared (its members take some
 * of the run's partitions, so the figures are not this run's alone). Do not point `--split` at a Kafka whose telemetry
 * groups carry data that matters: the skipped records are not processed by them.
 */
import { Kafka, logLevel } from 'kafkajs';

export interface LagGroup {
  group: string;
  topic: string;
}

export interface GroupStart extends LagGroup {
  /** Records behind the end of the topic before the run (uncommitted partitions count from the earliest offset). */
  behind: number;
  /** `reset`: moved to the end; `fresh`: already at the end; `busy`: has members, left alone. */
  action: 'reset' | 'fresh' | 'busy';
  members: number;
}

export interface PartitionOffsets {
  partition: number;
  /** Committed offset, -1 (Kafka's answer) when the group never committed on the partition. */
  committed: number;
  low: number;
  high: number;
}

/** How far a group is behind: end − committed per partition; a partition never committed counts from its low watermark. */
export function backlog(partitions: PartitionOffsets[]): number {
  return partitions.reduce((sum, p) => sum + Math.max(0, p.high - (p.committed >= 0 ? Math.max(p.committed, p.low) : p.low)), 0);
}

/** Whether the group has no committed offset on a partition that could hold records (fromBeginning would read them). */
function uncommitted(partitions: PartitionOffsets[]): boolean {
  return partitions.some((p) => p.committed < 0);
}

/** One line per group worth mentioning, for the report's notes. */
export function describeStarts(starts: GroupStart[]): string[] {
  return starts.flatMap((s) => {
    if (s.action === 'reset') return [`${s.group} started at the end of ${s.topic}: ${s.behind.toLocaleString('en-US')} records left by earlier runs skipped`];
    if (s.action === 'busy') {
      return [`${s.group} has ${s.members} member(s) outside this run (another hub on this Kafka): they share its partitions, so part of this run's traffic goes through them${s.behind > 0 ? `, and it started ${s.behind.toLocaleString('en-US')} records behind` : ''}`];
    }
    return [];
  });
}

export async function freshStart(brokers: string[], groups: LagGroup[]): Promise<GroupStart[]> {
  const kafka = new Kafka({ clientId: 'tributary-bench', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3_000 });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups: described } = await admin.describeGroups(groups.map((g) => g.group));
    const topics = new Set(await admin.listTopics());
    const starts: GroupStart[] = [];
    for (const g of groups) {
      const members = described.find((d) => d.groupId === g.group)?.members.length ?? 0;
      // A topic not created yet (iot.route.events before the first connector ran) holds nothing to skip.
      if (!topics.has(g.topic)) {
        starts.push({ ...g, behind: 0, action: members > 0 ? 'busy' : 'fresh', members });
        continue;
      }
      const ends = await admin.fetchTopicOffsets(g.topic);
      const [committed] = await admin.fetchOffsets({ groupId: g.group, topics: [g.topic] });
      const partitions: PartitionOffsets[] = ends.map((e) => ({
        partition: e.partition, low: Number(e.low), high: Number(e.high),
        committed: Number(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1),
      }));
      const behind = backlog(partitions);
      if (members > 0) {
        starts.push({ ...g, behind, action: 'busy', members });
      } else if (behind > 0 || uncommitted(partitions)) {
        // A group without members accepts a plain offset commit; with members Kafka would refuse it.
        await admin.setOffsets({ groupId: g.group, topic: g.topic, partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })) });
        starts.push({ ...g, behind, action: behind > 0 ? 'reset' : 'fresh', members });
      } else {
        starts.push({ ...g, behind, action: 'fresh', members });
      }
    }
    return starts;
  } finally {
    await admin.disconnect();
  }
}
