/**
 * ConfluentSchemaRegistry and AvroSerde against the real registry (Apicurio ccompat v7 at
 * TRIBUTARY_SCHEMA_REGISTRY_URL, default http://127.0.0.1:8081/apis/ccompat/v7). Every subject is prefixed with a
 * per-run id so runs never collide on the shared registry.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { TributaryError } from '../errors/index.ts';
import { AvroSerde, registerAllSchemas } from './avro-serde.ts';
import { ConfluentSchemaRegistry } from './confluent-registry.ts';
import { SAMPLE_ROUTE_VALUE, SAMPLE_VALUES } from './fixtures.ts';
import { SchemaCatalog, TOPICS, type SubjectNameStrategy } from './schema-catalog.ts';
import { readSchemaId } from './wire-format.ts';

const url = process.env.TRIBUTARY_SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const run = randomUUID().slice(0, 8);
const subjectFor: SubjectNameStrategy = (topic) => `it-${run}.${topic}-value`;
const catalog = SchemaCatalog.load();

/** Runs decode-child.ts in a fresh node process: nothing shared with this process but the registry. */
function decodeInChild(values: Buffer[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'decode-child.ts'), url, ...values.map((v) => v.toString('base64'))], { env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`decode-child exited with ${code}: ${stderr}`));
      else resolve(stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown));
    });
  });
}

describe('ConfluentSchemaRegistry against the real registry', () => {
  let registry: ConfluentSchemaRegistry;
  let ids: Map<string, number[]>;

  before(async () => {
    registry = new ConfluentSchemaRegistry({ url, maxRetries: 1 });
    ids = await registerAllSchemas(registry, catalog, { subjectNameStrategy: subjectFor, extraTopics: ['iot.route.alerts'] });
  });
  after(async () => {
    await registry.close();
    // Leave the shared registry as we found it: soft-delete, then hard-delete, every subject of this run.
    const subjects = (await (await fetch(`${url}/subjects`)).json()) as string[];
    for (const subject of subjects.filter((s) => s.startsWith(`it-${run}.`))) {
      const path = `${url}/subjects/${encodeURIComponent(subject)}`;
      await fetch(path, { method: 'DELETE' });
      await fetch(`${path}?permanent=true`, { method: 'DELETE' });
    }
  });

  test('every schema of schemas/ registers, and registering again returns the same ids', async () => {
    assert.equal(ids.size, catalog.topics().length + 1);
    for (const topic of [...catalog.topics(), 'iot.route.alerts']) {
      const subjectIds = ids.get(subjectFor(topic));
      assert.equal(subjectIds?.length, catalog.versionsForTopic(topic).length, topic);
      const latest = await registry.latest(subjectFor(topic));
      assert.equal(latest?.id, subjectIds?.at(-1), topic);
      assert.equal(latest?.version, subjectIds?.length, topic);
      assert.deepEqual(JSON.parse(await registry.getSchema(latest!.id)), JSON.parse(catalog.latestForTopic(topic)!.text));
    }
    assert.deepEqual(await registerAllSchemas(registry, catalog, { subjectNameStrategy: subjectFor, extraTopics: ['iot.route.alerts'] }), ids);
    assert.equal(ids.get(subjectFor('iot.route.alerts'))?.at(-1), ids.get(subjectFor(TOPICS.deadLetter))?.at(-1), 'content ids are global');
  });

  test('the subject compatibility is pinned to BACKWARD', async () => {
    const response = await fetch(`${url}/config/${encodeURIComponent(subjectFor(TOPICS.twinChanges))}`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { compatibilityLevel?: string; compatibility?: string };
    assert.equal(body.compatibilityLevel ?? body.compatibility, 'BACKWARD');
  });

  test('a BACKWARD-incompatible edit is refused with SchemaIncompatible (HTTP 409), a compatible one becomes v2', async () => {
    const subject = subjectFor('iot.evolve');
    const base = JSON.parse(catalog.latestForTopic(TOPICS.deviceMessages)!.text) as { fields: object[] };
    const v1 = JSON.stringify(base);
    const incompatible = JSON.stringify({ ...base, fields: [...base.fields, { name: 'site', type: 'string', doc: 'required: old data has none' }] });
    const compatible = JSON.stringify({ ...base, fields: [...base.fields, { name: 'site', type: ['null', 'string'], default: null, doc: 'optional' }] });

    const id1 = await registry.register(subject, v1);
    assert.equal(await registry.checkCompatibility(subject, incompatible), false);
    assert.equal(await registry.checkCompatibility(subject, compatible), true);
    const refused = await registry.register(subject, incompatible).then(() => undefined, (err: unknown) => err);
    assert.ok(refused instanceof TributaryError, `expected a TributaryError, got ${String(refused)}`);
    assert.equal(refused.code, 'SchemaIncompatible');
    assert.equal(refused.details?.status, 409);
    assert.equal((await registry.latest(subject))?.version, 1);

    const id2 = await registry.register(subject, compatible);
    assert.notEqual(id2, id1);
    const latest = await registry.latest(subject);
    assert.deepEqual({ ...latest, schema: JSON.parse(latest!.schema) as unknown }, { id: id2, subject, version: 2, schema: JSON.parse(compatible) as unknown });
    assert.equal(await registry.register(subject, compatible), id2, 'idempotent');
    assert.equal((await registry.latest(subject))?.version, 2);
  });

  test('unknown subjects and ids: latest is undefined, getSchema fails with SchemaNotFound', async () => {
    assert.equal(await registry.latest(subjectFor('iot.nothing')), undefined);
    assert.equal(await registry.checkCompatibility(subjectFor('iot.nothing'), catalog.latestForTopic(TOPICS.deviceReplies)!.text), true);
    await assert.rejects(registry.getSchema(2_000_000_000), { code: 'SchemaNotFound' });
  });

  test('an unreachable registry fails with RegistryUnavailable', async () => {
    const dead = new ConfluentSchemaRegistry({ url: 'http://127.0.0.1:9/apis/ccompat/v7', maxRetries: 0, timeoutMs: 2000 });
    await assert.rejects(dead.latest('x-value'), { code: 'RegistryUnavailable' });
    await dead.close();
  });

  test('AvroSerde round-trips every topic through the real registry', async () => {
    const serde = new AvroSerde(registry, catalog, { subjectNameStrategy: subjectFor });
    for (const [topic, value] of Object.entries(SAMPLE_VALUES)) {
      const bytes = await serde.encode(topic, value);
      assert.equal(readSchemaId(bytes), ids.get(subjectFor(topic))?.at(-1), topic);
      assert.deepEqual(await serde.decode(bytes), { ...value }, topic);
    }
  });

  test('a record encoded by this process is decoded by another process', async () => {
    const serde = new AvroSerde(registry, catalog, { subjectNameStrategy: subjectFor });
    const values = [SAMPLE_VALUES['iot.device.messages'], SAMPLE_VALUES['iot.twin.updates'], SAMPLE_ROUTE_VALUE];
    const bytes = [
      await serde.encode(TOPICS.deviceMessages, values[0]),
      await serde.encode(TOPICS.twinUpdates, values[1]),
      await serde.encode('iot.route.alerts', values[2]),
    ];
    const decoded = await decodeInChild(bytes);
    assert.deepEqual(decoded, values.map((v) => JSON.parse(JSON.stringify(v)) as unknown));
  });
});
