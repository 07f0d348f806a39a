/**
 * Topic metadata on disk: `<dataDir>/log/<topic>/topic.json` ({ name, partitions, config }), written atomically
 * after the partition directories exist, so its presence is what makes a topic exist. Deletion renames the topic
 * directory away first, so a crash mid-delete never leaves a half topic behind.
 */
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TributaryError } from '../../errors/index.ts';
import { componentLogger } from '../../logging/logger.ts';
import { syncDir, writeFileAtomic } from './atomic-file.ts';
import type { TopicSpec } from '../types.ts';

const log = componentLogger('embedded-log');
const META_FILE = 'topic.json';

export interface TopicMeta {
  name: string;
  partitions: number;
  config: Record<string, string>;
}

/** Kafka's rule (legal characters, at most 249, not `.` or `..`), which also keeps names safe as directory names. */
export function validateTopicName(name: string): void {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(name) || name === '.' || name === '..') {
    throw new TributaryError('ArgumentInvalid', `Invalid topic name ${JSON.stringify(name)}: use 1–249 characters from [a-zA-Z0-9._-], not "." or "..".`);
  }
}

export function logRoot(dataDir: string): string {
  return join(dataDir, 'log');
}

/** Where deleted topics go before their files are removed (outside log/, so no topic name can collide). */
function trashDir(dataDir: string): string {
  return join(dataDir, 'log-deleted');
}

export function topicDir(dataDir: string, topic: string): string {
  return join(logRoot(dataDir), topic);
}

export function partitionDir(dataDir: string, topic: string, partition: number): string {
  return join(topicDir(dataDir, topic), String(partition));
}

/** Validates a spec as Kafka's CreateTopics would, so a bad spec fails the same way on both logs. */
export function validateTopicSpec(spec: TopicSpec): TopicMeta {
  validateTopicName(spec.name);
  if (!Number.isInteger(spec.partitions) || spec.partitions < 1 || spec.partitions > 10_000) {
    throw new TributaryError('ArgumentInvalid', `Topic ${spec.name}: partitions must be an integer from 1 to 10000, got ${spec.partitions}.`);
  }
  const config = { ...spec.config };
  for (const key of ['retention.ms', 'retention.bytes', 'segment.bytes', 'max.message.bytes']) {
    const value = config[key];
    if (value !== undefined && !/^-?\d+$/.test(value)) {
      throw new TributaryError('ArgumentInvalid', `Topic ${spec.name}: config ${key} must be an integer, got ${JSON.stringify(value)}.`);
    }
  }
  return { name: spec.name, partitions: spec.partitions, config };
}

/** Loads every complete topic; removes leftovers of interrupted creates and deletes. */
export async function loadTopics(dataDir: string): Promise<TopicMeta[]> {
  const root = logRoot(dataDir);
  await mkdir(root, { recursive: true });
  await rm(trashDir(dataDir), { recursive: true, force: true });
  const topics: TopicMeta[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(root, entry.name);
    let text: string;
    try {
      text = await readFile(join(dir, META_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      log.warn({ dir }, 'removing topic directory without topic.json (interrupted createTopics)');
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    const meta = JSON.parse(text) as TopicMeta;
    if (meta.name !== entry.name || !Number.isInteger(meta.partitions) || meta.partitions < 1) {
      throw new TributaryError('ConfigInvalid', `Topic metadata ${join(dir, META_FILE)} is inconsistent; restore it or delete the topic directory.`);
    }
    topics.push({ name: meta.name, partitions: meta.partitions, config: meta.config ?? {} });
  }
  return topics;
}

/** Creates the topic's directories, then its metadata file (the commit point). */
export async function writeTopic(dataDir: string, meta: TopicMeta, fsync: boolean): Promise<void> {
  for (let p = 0; p < meta.partitions; p++) await mkdir(partitionDir(dataDir, meta.name, p), { recursive: true });
  await writeFileAtomic(join(topicDir(dataDir, meta.name), META_FILE), JSON.stringify(meta, null, 2), fsync);
  if (fsync) await syncDir(logRoot(dataDir));
}

/** Renames the topic away (atomic: the topic is gone), then removes its files. */
export async function removeTopic(dataDir: string, topic: string): Promise<void> {
  await mkdir(trashDir(dataDir), { recursive: true });
  const graveyard = join(trashDir(dataDir), `${topic}-${randomBytes(4).toString('hex')}`);
  await rename(topicDir(dataDir, topic), graveyard);
  await rm(graveyard, { recursive: true, force: true });
}

/** Reads an integer topic config, falling back to the given default (Kafka's broker defaults). */
export function intConfig(config: Record<string, string>, key: string, fallback: number): number {
  const value = config[key];
  return value === undefined ? fallback : Number(value);
}
