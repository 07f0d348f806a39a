/**
 * In-process consumer groups: the role Kafka's group coordinator plays, for members living in this process.
 *
 * Members of a group split the partitions of the topics they subscribe to (round-robin over partitions in
 * topic order, among the members subscribed to each topic, in join order). Every membership change runs one
 * rebalance, serialised per group: first every member gives up the partitions it loses and waits for the batch in
 * flight on them, then members receive what they gain — so a partition is never read by two members at once, and
 * the new owner starts from the offset the old one committed (uncommitted records are delivered again: at-least-once).
 */
import type { TopicPartition } from '../types.ts';

export interface GroupMember {
  readonly topics: readonly string[];
  /** Stops fetching the partitions and resolves once their in-flight batches are done. */
  revoke(partitions: TopicPartition[]): Promise<void>;
  /** Starts fetching the partitions from the group's committed offsets. */
  assign(partitions: TopicPartition[]): void;
}

interface GroupState {
  members: GroupMember[];
  owned: Map<GroupMember, TopicPartition[]>;
  /** Tail of the serialised rebalance chain. */
  chain: Promise<void>;
}

const key = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

export class GroupCoordinator {
  readonly #groups = new Map<string, GroupState>();
  /** Partition count of a topic, or undefined when it does not exist (deleted topics are assigned to nobody). */
  readonly #partitionsOf: (topic: string) => number | undefined;

  constructor(partitionsOf: (topic: string) => number | undefined) {
    this.#partitionsOf = partitionsOf;
  }

  /** Adds a member; resolves once the rebalance that gives it its partitions has completed. */
  join(groupId: string, member: GroupMember): Promise<void> {
    let group = this.#groups.get(groupId);
    if (!group) {
      group = { members: [], owned: new Map(), chain: Promise.resolve() };
      this.#groups.set(groupId, group);
    }
    const state = group;
    return this.#serialise(state, async () => {
      state.members.push(member);
      await this.#rebalance(state);
    });
  }

  /** Removes a member after revoking everything it owns; the others take its partitions over. */
  leave(groupId: string, member: GroupMember): Promise<void> {
    const state = this.#groups.get(groupId);
    if (!state) return Promise.resolve();
    return this.#serialise(state, async () => {
      const index = state.members.indexOf(member);
      if (index < 0) return;
      state.members.splice(index, 1);
      const owned = state.owned.get(member) ?? [];
      state.owned.delete(member);
      await member.revoke(owned);
      if (state.members.length === 0) {
        this.#groups.delete(groupId);
        return;
      }
      await this.#rebalance(state);
    });
  }

  /** Topics were created or deleted: rebalance the groups subscribed to any of them. */
  async topicsChanged(topics: readonly string[]): Promise<void> {
    const affected = [...this.#groups.values()].filter((state) =>
      state.members.some((member) => member.topics.some((topic) => topics.includes(topic))),
    );
    await Promise.all(affected.map((state) => this.#serialise(state, () => this.#rebalance(state))));
  }

  #serialise(state: GroupState, step: () => Promise<void>): Promise<void> {
    const run = state.chain.then(step);
    // A failed step must not wedge the group's later rebalances.
    state.chain = run.catch(() => undefined);
    return run;
  }

  async #rebalance(state: GroupState): Promise<void> {
    const target = this.#assign(state.members);
    await Promise.all(
      state.members.map((member) => {
        const wanted = new Set((target.get(member) ?? []).map(key));
        const lost = (state.owned.get(member) ?? []).filter((tp) => !wanted.has(key(tp)));
        return lost.length > 0 ? member.revoke(lost) : Promise.resolve();
      }),
    );
    for (const member of state.members) {
      const had = new Set((state.owned.get(member) ?? []).map(key));
      const next = target.get(member) ?? [];
      const gained = next.filter((tp) => !had.has(key(tp)));
      state.owned.set(member, next);
      if (gained.length > 0) member.assign(gained);
    }
  }

  #assign(members: readonly GroupMember[]): Map<GroupMember, TopicPartition[]> {
    const target = new Map<GroupMember, TopicPartition[]>(members.map((m) => [m, []]));
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    let turn = 0;
    for (const topic of topics) {
      const partitions = this.#partitionsOf(topic) ?? 0;
      const candidates = members.filter((m) => m.topics.includes(topic));
      for (let partition = 0; partition < partitions; partition++) {
        target.get(candidates[turn++ % candidates.length]!)!.push({ topic, partition });
      }
    }
    return target;
  }
}
