/**
 * The project's Avro schemas as checked in under schemas/: one directory per subject (`<topic>-value`, Confluent's
 * TopicNameStrategy, DESIGN.md §5), one file per version (`v1.avsc`, `v2.avsc`, …). The catalog loads them once at
 * start-up and answers "which schema versions belong to this topic". `iot.route.<endpoint>` topics are created at run
 * time, so they have no directory of their own: they share the generic ForwardedRecord family of iot.deadletter.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TributaryError } from '../errors/index.ts';
import { fullNameOf, normalizeSchemaText, parseAvroSchema, schemaKey, type AvroType } from './avro-schema.ts';

/** Where the checked-in schemas live (repository root / schemas). */
export const SCHEMAS_DIR = join(import.meta.dirname, '..', '..', 'schemas');

import { TOPICS, ROUTE_TOPIC_PREFIX } from '../log/topics.ts';

/** Topic names live with the Log (core/log/topics.ts); re-exported here for the serde's callers. */
export { TOPICS, ROUTE_TOPIC_PREFIX } from '../log/topics.ts';

/** `iot.route.<endpoint>` topics carry the dead-letter topic's generic ForwardedRecord schema. */
const ROUTE_SCHEMA_TOPIC = TOPICS.deadLetter;

/** Subject of a topic's values under TopicNameStrategy. */
export function subjectForTopic(topic: string): string {
  return `${topic}-value`;
}

/** Maps a topic to the registry subject of its values (Confluent's subject name strategy). */
export type SubjectNameStrategy = (topic: string) => string;

export function isRouteTopic(topic: string): boolean {
  return topic.startsWith(ROUTE_TOPIC_PREFIX) && topic.length > ROUTE_TOPIC_PREFIX.length;
}

export interface CatalogSchema {
  /** The subject directory the file lives in (for route topics: the dead-letter subject the family comes from). */
  readonly subject: string;
  readonly version: number;
  readonly file: string;
  /** Normalised schema text (see normalizeSchemaText): what gets registered. */
  readonly text: string;
  /** Order-insensitive key of the text (schemaKey), to recognise it in a registry's answer. */
  readonly key: string;
  /** Full name of the top-level record, e.g. dev.tributary.DeviceMessage. */
  readonly fullName: string;
  /** The schema parsed by avsc (unions restricted to unambiguous ones). */
  readonly type: AvroType;
}

const VERSION_FILE = /^v([1-9][0-9]*)\.avsc$/;

export class SchemaCatalog {
  private readonly bySubject: ReadonlyMap<string, readonly CatalogSchema[]>;
  private readonly latestByName = new Map<string, CatalogSchema>();
  private readonly byKey = new Map<string, CatalogSchema>();

  private constructor(bySubject: Map<string, CatalogSchema[]>) {
    this.bySubject = bySubject;
    for (const versions of bySubject.values()) {
      const latest = versions[versions.length - 1];
      if (latest !== undefined) this.latestByName.set(latest.fullName, latest);
      for (const version of versions) if (!this.byKey.has(version.key)) this.byKey.set(version.key, version);
    }
  }

  /**
   * Reads every `<subject>/v<N>.avsc` under `dir`. Fails with ConfigInvalid on a layout mistake (gap in the version
   * numbers, a file that is not a named Avro record), so a broken schema stops start-up instead of a producer.
   */
  static load(dir: string = SCHEMAS_DIR): SchemaCatalog {
    const bySubject = new Map<string, CatalogSchema[]>();
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch (err) {
      throw new TributaryError('ConfigInvalid', `Cannot read the schema directory ${dir}: ${(err as Error).message}.`, { cause: err });
    }
    for (const subject of entries) {
      const subjectDir = join(dir, subject);
      if (!statSync(subjectDir).isDirectory()) continue;
      if (!subject.endsWith('-value') && !subject.endsWith('-key')) {
        throw new TributaryError('ConfigInvalid', `Schema directory ${subjectDir} is not named <topic>-value or <topic>-key; rename it after its subject.`);
      }
      const versions: CatalogSchema[] = [];
      for (const file of readdirSync(subjectDir)) {
        const match = VERSION_FILE.exec(file);
        if (match === null) continue;
        versions.push(loadVersion(subject, Number(match[1]), join(subjectDir, file)));
      }
      versions.sort((a, b) => a.version - b.version);
      versions.forEach((schema, index) => {
        if (schema.version !== index + 1) {
          throw new TributaryError('ConfigInvalid', `Schema versions of ${subject} must be v1, v2, … without gaps; found v${schema.version} where v${index + 1} was expected.`);
        }
      });
      if (versions.length > 0) bySubject.set(subject, versions);
    }
    return new SchemaCatalog(bySubject);
  }

  /** Subjects that have a directory under schemas/, sorted. */
  subjects(): string[] {
    return [...this.bySubject.keys()];
  }

  /** Topics whose values have a schema directory (`<topic>-value`), sorted. */
  topics(): string[] {
    return this.subjects().filter((s) => s.endsWith('-value')).map((s) => s.slice(0, -'-value'.length));
  }

  /** Every version of a subject, oldest first; `iot.route.<endpoint>-value` subjects get the route family. */
  versions(subject: string): readonly CatalogSchema[] {
    const own = this.bySubject.get(subject);
    if (own !== undefined) return own;
    const topic = subject.endsWith('-value') ? subject.slice(0, -'-value'.length) : undefined;
    if (topic !== undefined && isRouteTopic(topic)) return this.bySubject.get(subjectForTopic(ROUTE_SCHEMA_TOPIC)) ?? [];
    return [];
  }

  /** Every version for a topic's values, oldest first (empty when the catalog has no schema for it). */
  versionsForTopic(topic: string): readonly CatalogSchema[] {
    return this.versions(subjectForTopic(topic));
  }

  /** The newest version for a topic's values: the schema this code reads with. */
  latestForTopic(topic: string): CatalogSchema | undefined {
    const versions = this.versionsForTopic(topic);
    return versions[versions.length - 1];
  }

  /** The newest version whose top-level record has this full name (how a reader is found when no topic is given). */
  latestForName(fullName: string): CatalogSchema | undefined {
    return this.latestByName.get(fullName);
  }

  /** The catalog version with this schema (compared by schemaKey: whitespace and key order do not matter), if any. */
  find(schemaText: string): CatalogSchema | undefined {
    return this.byKey.get(schemaKey(schemaText));
  }
}

function loadVersion(subject: string, version: number, file: string): CatalogSchema {
  const raw = readFileSync(file, 'utf8');
  let type: AvroType;
  let text: string;
  try {
    text = normalizeSchemaText(raw);
    type = parseAvroSchema(text, { strictUnions: true });
  } catch (err) {
    throw new TributaryError('ConfigInvalid', `Schema file ${file} does not parse: ${(err as Error).message}`, { cause: err });
  }
  const fullName = fullNameOf(type);
  if (fullName === undefined || type.typeName !== 'record') {
    throw new TributaryError('ConfigInvalid', `Schema file ${file} must define a named Avro record at the top level.`);
  }
  return { subject, version, file, text, key: schemaKey(text), fullName, type };
}
