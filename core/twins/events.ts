/**
 * The records a twin write sends on, built in one place for both writers — the twins processor (device reported
 * patches, jobs) and the service REST API (desired/tags, written synchronously):
 * - the TwinChange on `iot.twin.changes` (routing's twinChangeEvents, enrich's cache, ClickHouse twin history);
 * - when desired properties changed, a DesiredPatch command on `iot.cloud.commands`: the device receives
 *   `$iothub/twin/PATCH/properties/desired/?$version=n` with the patch and `"$version": n` (iothub-wire.md §2.2, §2.5);
 * - the device's twin answers (TwinResponse) on `$iothub/twin/res/{status}/?$rid=…`: never an empty body on GET,
 *   errors as `{"errorCode":…,"message":…}` because the SDK ignores the status in the topic (§0.5, §2.5).
 */
import { randomUUID } from 'node:crypto';
import type { TributaryError } from '../errors/index.ts';
import { TOPICS } from '../log/topics.ts';
import type { Log } from '../log/types.ts';
import type { AvroSerde } from '../serde/avro-serde.ts';
import type { CloudCommand, TwinChange, TwinUpdate } from '../serde/records.ts';
import type { TwinDocument } from './document.ts';

/** A record for the log; fits the processor runtime's OutputRecord and the Log's produce. */
export interface TwinOutputRecord {
  topic: string;
  key: string;
  value: Buffer;
  timestamp: number;
}

/** Where a twin write's records go; the hub's topics unless a deployment (or a test) names its own. */
export interface TwinTopics {
  twinChanges: string;
  cloudCommands: string;
}

export const DEFAULT_TWIN_TOPICS: TwinTopics = { twinChanges: TOPICS.twinChanges, cloudCommands: TOPICS.cloudCommands };

function command(fields: Omit<CloudCommand, 'commandId' | 'enqueuedTime'>, now: number): CloudCommand {
  return { commandId: randomUUID(), enqueuedTime: now, ...fields };
}

/** The desired notification body: the patch as applied, plus `$version` (the SDK merges it into its cache). */
export function desiredNotificationBody(desiredPatch: string, desiredVersion: number): Buffer {
  const patch = JSON.parse(desiredPatch) as Record<string, unknown>;
  return Buffer.from(JSON.stringify({ ...patch, $version: desiredVersion }), 'utf8');
}

/** TwinChange, and the DesiredPatch notification when desired properties changed. */
export async function twinChangeRecords(serde: AvroSerde, change: TwinChange, topics: TwinTopics = DEFAULT_TWIN_TOPICS): Promise<TwinOutputRecord[]> {
  const now = change.operationTime;
  const records: TwinOutputRecord[] = [
    { topic: topics.twinChanges, key: change.deviceId, value: await serde.encode(TOPICS.twinChanges, change), timestamp: now },
  ];
  if (change.desiredPatch !== null && change.desiredPatch !== undefined && change.desiredVersion !== null && change.desiredVersion !== undefined) {
    // Any node holding the device's connection delivers it (targetNode null): the service does not know where it is.
    const notification = command({
      kind: 'DesiredPatch', deviceId: change.deviceId, moduleId: change.moduleId ?? null, targetNode: null,
      version: change.desiredVersion, body: desiredNotificationBody(change.desiredPatch, change.desiredVersion),
    }, now);
    records.push({ topic: topics.cloudCommands, key: change.deviceId, value: await serde.encode(TOPICS.cloudCommands, notification), timestamp: now });
  }
  return records;
}

/** Produces a write's records from outside a processor (the REST path). */
export async function publishTwinChange(log: Log, serde: AvroSerde, change: TwinChange, topics: TwinTopics = DEFAULT_TWIN_TOPICS): Promise<void> {
  const records = await twinChangeRecords(serde, change, topics);
  const byTopic = new Map<string, TwinOutputRecord[]>();
  for (const r of records) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
  await Promise.all([...byTopic].map(([topic, list]) => log.produce(topic, list.map(({ key, value, timestamp }) => ({ key, value, timestamp })))));
}

/** GET answer body: both property sections with `$version`, no tags and no `$metadata` (§2.5). */
export function twinGetBody(document: TwinDocument): Buffer {
  const section = (s: TwinDocument['properties']['desired']) => {
    const { $metadata: _metadata, ...values } = s;
    return values;
  };
  return Buffer.from(JSON.stringify({ desired: section(document.properties.desired), reported: section(document.properties.reported) }), 'utf8');
}

export interface TwinResponseFields {
  status: number;
  body: Buffer;
  /** The new reported `$version`, for the `&$version=` of a PATCH answer. */
  version?: number | null;
}

export function twinErrorResponse(error: TributaryError): TwinResponseFields {
  return { status: error.status, body: Buffer.from(JSON.stringify(error.toIotHubBody()), 'utf8') };
}

/** The TwinResponse command answering a device's request, sent to the ingest node that holds its connection. */
export async function twinResponseRecord(serde: AvroSerde, update: TwinUpdate, response: TwinResponseFields, topics: TwinTopics = DEFAULT_TWIN_TOPICS): Promise<TwinOutputRecord> {
  const now = Date.now();
  const answer = command({
    kind: 'TwinResponse', deviceId: update.deviceId, moduleId: update.moduleId ?? null, targetNode: update.ingestNode ?? null,
    requestId: update.requestId ?? null, status: response.status, version: response.version ?? null, body: response.body,
  }, now);
  return { topic: topics.cloudCommands, key: update.deviceId, value: await serde.encode(TOPICS.cloudCommands, answer), timestamp: now };
}
