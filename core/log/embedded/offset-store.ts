/**
 * Committed offsets of consumer groups: one JSON file per group under `<dataDir>/groups/`, replaced atomically on
 * every commit so a restart sees the last commit that resolved. Commits that arrive while a write is in flight are
 * merged into the next write (one fsync for many partitions/consumers), the same group-commit idea as produce.
 */
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { componentLogger } from '../../logging/logger.ts';
import { writeFileAtomic } from './atomic-file.ts';
import type { TopicPartitionOffset } from '../types.ts';

const log = componentLogger('embedded-log');

interface GroupFile {
  groupId: string;
  /** topic → partition → next offset to read. */
  offsets: Record<string, Record<string, number>>;
}

interface GroupState {
  readonly groupId: string;
  readonly offsets: Map<string, Map<number, number>>;
  version: number;
  persistedVersion: number;
  writing: Promise<void> | undefined;
}

/** A file name that is safe for any group id (Kafka allows almost any string) and still readable when listing. */
function groupFileName(groupId: string): string {
  const readable = groupId.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  const hash = createHash('sha256').update(groupId).digest('hex').slice(0, 16);
  return `${readable}-${hash}.json`;
}

export class OffsetStore {
  readonly #dir: string;
  readonly #fsync: boolean;
  readonly #groups = new Map<string, GroupState>();

  private constructor(dir: string, fsync: boolean) {
    this.#dir = dir;
    this.#fsync = fsync;
  }

  static async open(dataDir: string, fsync: boolean): Promise<OffsetStore> {
    const store = new OffsetStore(join(dataDir, 'groups'), fsync);
    await mkdir(store.#dir, { recursive: true });
    for (const name of await readdir(store.#dir)) {
      if (!name.endsWith('.json')) continue; // leftovers of an interrupted write end in .tmp and are ignored
      const file = JSON.parse(await readFile(join(store.#dir, name), 'utf8')) as GroupFile;
      const state = store.#state(file.groupId);
      for (const [topic, partitions] of Object.entries(file.offsets)) {
        const map = new Map<number, number>();
        for (const [partition, offset] of Object.entries(partitions)) map.set(Number(partition), offset);
        state.offsets.set(topic, map);
      }
    }
    return store;
  }

  /** Committed offsets of a group for one topic, by partition. */
  get(groupId: string, topic: string): TopicPartitionOffset[] {
    const partitions = this.#groups.get(groupId)?.offsets.get(topic);
    if (!partitions) return [];
    return [...partitions].sort(([a], [b]) => a - b).map(([partition, offset]) => ({ topic, partition, offset }));
  }

  committed(groupId: string, topic: string, partition: number): number | undefined {
    return this.#groups.get(groupId)?.offsets.get(topic)?.get(partition);
  }

  /** Records the offsets and resolves once a file holding them (or later ones) is durable. */
  async commit(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const state = this.#state(groupId);
    for (const { topic, partition, offset } of offsets) {
      let partitions = state.offsets.get(topic);
      if (!partitions) state.offsets.set(topic, (partitions = new Map()));
      partitions.set(partition, offset);
    }
    state.version++;
    await this.#persist(state, state.version);
  }

  /** Forgets a deleted topic's offsets in every group, as Kafka does, so a re-created topic starts clean. */
  async forgetTopic(topic: string): Promise<void> {
    const touched = [...this.#groups.values()].filter((state) => state.offsets.delete(topic));
    await Promise.all(touched.map((state) => this.#persist(state, ++state.version)));
  }

  /** Waits for writes in flight (close). */
  async flush(): Promise<void> {
    await Promise.all([...this.#groups.values()].map((state) => state.writing));
  }

  #state(groupId: string): GroupState {
    let state = this.#groups.get(groupId);
    if (!state) {
      state = { groupId, offsets: new Map(), version: 0, persistedVersion: 0, writing: undefined };
      this.#groups.set(groupId, state);
    }
    return state;
  }

  async #persist(state: GroupState, version: number): Promise<void> {
    while (state.persistedVersion < version) {
      if (state.writing) {
        await state.writing.catch(() => undefined);
        continue;
      }
      const writing = this.#write(state).finally(() => {
        state.writing = undefined;
      });
      state.writing = writing;
      await writing;
    }
  }

  async #write(state: GroupState): Promise<void> {
    const version = state.version;
    const file: GroupFile = { groupId: state.groupId, offsets: {} };
    for (const [topic, partitions] of state.offsets) file.offsets[topic] = Object.fromEntries(partitions);
    try {
      await writeFileAtomic(join(this.#dir, groupFileName(state.groupId)), JSON.stringify(file), this.#fsync);
    } catch (err) {
      log.error({ groupId: state.groupId, err }, 'failed to persist committed offsets');
      throw err;
    }
    state.persistedVersion = Math.max(state.persistedVersion, version);
  }
}
