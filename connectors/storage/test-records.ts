/**
 * Test fixtures: endpoint-topic records as the router writes them (a ForwardedRecord around an EnrichedDeviceMessage
 * in the Confluent wire format), at chosen offsets, so sink tests can hand batches straight to writeBatch; and readers
 * of what the connector wrote (files under a directory, Avro container files).
 */
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import avro from 'avsc';
import type { LogRecord } from '../../core/log/types.ts';
import type { AvroSerde, EnrichedDeviceMessage } from '../../core/serde/index.ts';
import { routedValue } from '../runtime/testing.ts';

export const BASE_TIME = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

/** Message `i` of device `dev-<i mod 3>`: a JSON body `{"i":<i>}`, enqueued `i` ms after BASE_TIME. */
export function deviceMessage(i: number, overrides: Partial<EnrichedDeviceMessage> = {}): EnrichedDeviceMessage {
  return {
    messageId: `m-${i}`, correlationId: null, userId: null, to: null, contentType: 'application/json', contentEncoding: 'utf-8',
    expiryTime: null, creationTime: null, enqueuedTime: BASE_TIME + i, connectionDeviceId: `dev-${i % 3}`, connectionModuleId: null,
    connectionAuthMethod: '{"scope":"device","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}', connectionDeviceGenerationId: 'g1',
    interfaceId: null, componentName: null, outputName: null, ingestNode: 'node-1', protocol: 'Mqtt',
    properties: { seq: String(i) }, enrichments: { site: 'plant-7' }, twin: null, body: Buffer.from(JSON.stringify({ i })),
    ...overrides,
  };
}

/** The endpoint-topic record carrying `message`, as the router forwards it. */
export async function routedRecord(serde: AvroSerde, topic: string, partition: number, offset: number, message: EnrichedDeviceMessage): Promise<LogRecord> {
  const value = await routedValue(serde, topic.replace(/^iot\.route\./, ''), message, { sourcePartition: partition, sourceOffset: 1000 + offset, route: 'to-storage' });
  return { topic, partition, offset, key: Buffer.from(message.connectionDeviceId), value, headers: {}, timestamp: message.enqueuedTime };
}

/** Records for offsets [from, to) of one partition, message i at offset i. */
export function routedRange(serde: AvroSerde, topic: string, partition: number, from: number, to: number): Promise<LogRecord[]> {
  return Promise.all(Array.from({ length: to - from }, (_, k) => routedRecord(serde, topic, partition, from + k, deviceMessage(from + k))));
}

/** Files under `dir` (recursively), relative to it, sorted; none when `dir` does not exist (yet). */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

/** The records of an Avro object container file. */
export async function readAvro(file: Buffer): Promise<Record<string, unknown>[]> {
  const records: Record<string, unknown>[] = [];
  const decoder = new avro.streams.BlockDecoder();
  decoder.on('data', (r: Record<string, unknown>) => records.push({ ...r }));
  await new Promise<void>((resolve, reject) => {
    decoder.on('end', resolve).on('error', reject);
    Readable.from([file]).pipe(decoder);
  });
  return records;
}
