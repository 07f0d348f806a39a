import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroSerde, registerAllSchemas } from './avro-serde.ts';
import { SAMPLE_ROUTE_VALUE, SAMPLE_VALUES } from './fixtures.ts';
import { InProcessSchemaRegistry } from './in-process-registry.ts';
import { SchemaCatalog, TOPICS } from './schema-catalog.ts';
import { HEADER_SIZE, readSchemaId } from './wire-format.ts';

const catalog = SchemaCatalog.load();

/** What a decoded value looks like: optional fields the sample left out come back as null. */
const asJson = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

describe('AvroSerde with the in-process registry', () => {
  let registry: InProcessSchemaRegistry;
  let serde: AvroSerde;
  let ids: Map<string, number[]>;

  before(async () => {
    registry = await InProcessSchemaRegistry.open();
    ids = await registerAllSchemas(registry, catalog);
    serde = new AvroSerde(registry, catalog);
  });

  test('registerAllSchemas registers every subject of schemas/ and is idempotent', async () => {
    assert.deepEqual([...ids.keys()].sort(), catalog.subjects().sort());
    assert.deepEqual(await registerAllSchemas(registry, catalog), ids);
    await assert.rejects(registerAllSchemas(registry, catalog, { extraTopics: ['iot.nothing'] }), { code: 'ConfigInvalid' });
  });

  test('encodeSync: undefined until the writer schema is known, then the same bytes as encode (also for large values)', async () => {
    const fresh = new AvroSerde(registry, catalog);
    const value = SAMPLE_VALUES[TOPICS.deviceMessages];
    assert.equal(fresh.encodeSync(TOPICS.deviceMessages, value), undefined);
    await fresh.prepare(TOPICS.deviceMessages);
    const sync = fresh.encodeSync(TOPICS.deviceMessages, value)!;
    assert.deepEqual(sync, await serde.encode(TOPICS.deviceMessages, value));
    assert.equal(readSchemaId(sync), ids.get(`${TOPICS.deviceMessages}-value`)!.at(-1));
    // Larger than the shared scratch buffer: it grows and the value still round-trips.
    const big = { ...(value as unknown as Record<string, unknown>), body: Buffer.alloc(200 * 1024, 7) };
    const encoded = fresh.encodeSync(TOPICS.deviceMessages, big)!;
    assert.deepEqual(((await fresh.decode(encoded, TOPICS.deviceMessages)) as { body: Buffer }).body, big.body);
    // Values encoded earlier are not overwritten by later ones (each gets its own bytes).
    assert.deepEqual(sync, await serde.encode(TOPICS.deviceMessages, value));
  });

  test('decodeSync: undefined until the reader for (schema id, topic) is known, then the same value and errors as decode', async () => {
    const fresh = new AvroSerde(registry, catalog);
    const bytes = await serde.encode(TOPICS.deviceMessages, SAMPLE_VALUES[TOPICS.deviceMessages]);
    assert.equal(fresh.decodeSync(bytes, TOPICS.deviceMessages), undefined);
    const decoded = await fresh.decode(bytes, TOPICS.deviceMessages);
    assert.deepEqual(fresh.decodeSync(bytes, TOPICS.deviceMessages), decoded);
    // The reader is per topic: without one (or with another) it is a different lookup.
    assert.equal(fresh.decodeSync(bytes), undefined);
    await fresh.decode(bytes);
    assert.deepEqual(fresh.decodeSync(bytes), await fresh.decode(bytes));
    const damaged = Buffer.concat([bytes.subarray(0, HEADER_SIZE), Buffer.from([0xff, 0xff])]);
    assert.throws(() => fresh.decodeSync(damaged, TOPICS.deviceMessages), { code: 'SerializationFailed' });
    await assert.rejects(fresh.decode(damaged, TOPICS.deviceMessages), { code: 'SerializationFailed' });
  });

  test('the samples (typed by records.ts) name exactly the fields of each latest schema', () => {
    for (const [topic, value] of Object.entries(SAMPLE_VALUES)) {
      const fields = (JSON.parse(catalog.latestForTopic(topic)!.text) as { fields: { name: string }[] }).fields.map((f) => f.name);
      assert.deepEqual(Object.keys(value).sort(), fields.sort(), `${topic}: update records.ts and fixtures.ts with the schema`);
    }
  });

  for (const [topic, value] of Object.entries(SAMPLE_VALUES)) {
    test(`round trip on ${topic}`, async () => {
      const bytes = await serde.encode(topic, value);
      const latestId = ids.get(`${topic}-value`)?.at(-1);
      assert.equal(bytes[0], 0, 'magic byte');
      assert.equal(bytes.readUInt32BE(1), latestId, 'schema id of the latest version');
      assert.equal(readSchemaId(bytes), latestId);
      const decoded = await serde.decode(bytes);
      assert.deepEqual(decoded, { ...value }, 'decoded without a topic: reader found by record name');
      assert.deepEqual(await serde.decode(bytes, topic), decoded, 'decoded with the topic');
      assert.equal(Object.getPrototypeOf(decoded), Object.prototype, 'a plain object');
    });
  }

  test('optional fields may be left out and decode as null; maps default to {}', async () => {
    const minimal = { connectionDeviceId: 'dev9', enqueuedTime: 1, ingestNode: 'n', protocol: 'Https', body: Buffer.from('x') };
    const decoded = await serde.decode<Record<string, unknown>>(await serde.encode(TOPICS.deviceMessages, minimal));
    assert.equal(decoded.messageId, null);
    assert.equal(decoded.expiryTime, null);
    assert.deepEqual(decoded.properties, {});
    assert.deepEqual(decoded.body, Buffer.from('x'));
  });

  test('iot.route.<endpoint> topics get the ForwardedRecord schema, registered on first use', async () => {
    const topic = `iot.route.alerts${process.pid}`;
    assert.equal(await registry.latest(`${topic}-value`), undefined);
    const bytes = await serde.encode(topic, SAMPLE_ROUTE_VALUE);
    assert.equal(readSchemaId(bytes), ids.get('iot.deadletter-value')?.at(-1), 'same content id as the dead-letter schema');
    assert.equal((await registry.latest(`${topic}-value`))?.version, catalog.versionsForTopic(topic).length);
    assert.deepEqual(await serde.decode(bytes, topic), SAMPLE_ROUTE_VALUE);
  });

  test('a value that does not match the schema fails with SerializationFailed naming the field', async () => {
    const bad = { ...SAMPLE_VALUES['iot.device.messages'], connectionDeviceId: 42 };
    await assert.rejects(serde.encode(TOPICS.deviceMessages, bad), { code: 'SerializationFailed', message: /connectionDeviceId/ });
    await assert.rejects(serde.encode(TOPICS.deviceMessages, { ...bad, connectionDeviceId: 'd', protocol: 'Carrier-Pigeon' }), { code: 'SerializationFailed', message: /protocol/ });
  });

  test('bytes that are not the Confluent wire format fail with SerializationFailed', async () => {
    const good = await serde.encode(TOPICS.deviceReplies, SAMPLE_VALUES['iot.device.replies']);
    await assert.rejects(serde.decode(Buffer.from([0, 0, 1])), { code: 'SerializationFailed', message: /too short/ });
    await assert.rejects(serde.decode(Buffer.from('{"json":true}')), { code: 'SerializationFailed', message: /magic byte/ });
    await assert.rejects(serde.decode(good.subarray(0, good.length - 3)), { code: 'SerializationFailed', message: /does not decode/ });
    await assert.rejects(serde.decode(Buffer.concat([good, Buffer.from([7])])), { code: 'SerializationFailed' });
  });

  test('an id the registry does not know fails with SchemaNotFound', async () => {
    const bytes = Buffer.from([0, 0x7f, 0, 0, 1, 2]);
    await assert.rejects(serde.decode(bytes), { code: 'SchemaNotFound' });
  });

  test('a topic with no schema fails with SchemaNotFound', async () => {
    await assert.rejects(serde.encode('iot.no-such-topic', {}), { code: 'SchemaNotFound', message: /iot.no-such-topic-value/ });
  });
});

describe('AvroSerde schema evolution', () => {
  const field = (name: string) => ({ name, type: ['null', 'string'], default: null, doc: name });
  const schema = (...fields: object[]) => JSON.stringify({ type: 'record', name: 'Probe', namespace: 'dev.tributary.test', doc: 'probe', fields: [{ name: 'id', type: 'string', doc: 'id' }, ...fields] });

  function catalogWith(versions: string[]): SchemaCatalog {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-evolve-'));
    mkdirSync(join(dir, 'probe-value'));
    versions.forEach((text, i) => writeFileSync(join(dir, 'probe-value', `v${i + 1}.avsc`), text));
    return SchemaCatalog.load(dir);
  }

  test('a v1 record is read by v2 code with the new field defaulted', async () => {
    const registry = await InProcessSchemaRegistry.open();
    const oldCode = catalogWith([schema()]);
    await registerAllSchemas(registry, oldCode);
    const v1bytes = await new AvroSerde(registry, oldCode).encode('probe', { id: 'a' });

    const newCode = catalogWith([schema(), schema(field('site'))]);
    await registerAllSchemas(registry, newCode);
    const newSerde = new AvroSerde(registry, newCode);
    assert.deepEqual(await newSerde.decode(v1bytes), { id: 'a', site: null });
    assert.deepEqual(await newSerde.decode(v1bytes, 'probe'), { id: 'a', site: null });
    const v2bytes = await newSerde.encode('probe', { id: 'b', site: 'x' });
    assert.notEqual(readSchemaId(v2bytes), readSchemaId(v1bytes));
    assert.deepEqual(await newSerde.decode(v2bytes), { id: 'b', site: 'x' });
    // Old code reading new data: v1 resolves v2 by ignoring the extra field.
    assert.deepEqual(await new AvroSerde(registry, oldCode).decode(v2bytes), { id: 'b' });
  });

  test('encoding follows the registry\'s latest version, even when this code\'s catalog is older', async () => {
    const registry = await InProcessSchemaRegistry.open();
    const newCode = catalogWith([schema(), schema(field('site'))]);
    await registerAllSchemas(registry, newCode);
    const oldCode = catalogWith([schema()]);
    const bytes = await new AvroSerde(registry, oldCode, { autoRegister: false }).encode('probe', { id: 'c' });
    assert.equal(readSchemaId(bytes), (await registry.latest('probe-value'))?.id);
    assert.deepEqual(await new AvroSerde(registry, newCode).decode(bytes), { id: 'c', site: null });
  });

  test('encodeSync writes with the version a refresh looked up, not the one it used before (its per-topic cache)', async () => {
    const registry = await InProcessSchemaRegistry.open();
    const code = catalogWith([schema(), schema(field('site'))]);
    const v1 = await registry.register('probe-value', schema());
    const serde = new AvroSerde(registry, code, { autoRegister: false });
    await serde.prepare('probe');
    assert.equal(readSchemaId(serde.encodeSync('probe', { id: 'a' })!), v1);
    const v2 = await registry.register('probe-value', schema(field('site')));
    assert.equal(readSchemaId(serde.encodeSync('probe', { id: 'a' })!), v1, 'cached until refresh');
    serde.refresh();
    assert.equal(serde.encodeSync('probe', { id: 'a' }), undefined, 'unknown again until looked up');
    await serde.prepare('probe');
    const bytes = serde.encodeSync('probe', { id: 'b', site: 'x' })!;
    assert.equal(readSchemaId(bytes), v2);
    assert.deepEqual(await serde.decode(bytes), { id: 'b', site: 'x' });
  });
});

test('a record written by one process is decoded by another through the persisted in-process registry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-serde-child-'));
  const registry = await InProcessSchemaRegistry.open({ dataDir: dir });
  await registerAllSchemas(registry, catalog);
  const serde = new AvroSerde(registry, catalog);
  const value = SAMPLE_VALUES['iot.cloud.commands'];
  const bytes = await serde.encode(TOPICS.cloudCommands, value);
  await registry.close();
  assert.ok(bytes.length > HEADER_SIZE);
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'decode-child.ts'), `dir:${dir}`, bytes.toString('base64')], { encoding: 'utf8', env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' } });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout.trim()), asJson(value));
});

test('an enum symbol added later reads as the catch-all default in older code', async () => {
  const registry = await InProcessSchemaRegistry.open();
  const dir = (versions: string[]) => {
    const root = mkdtempSync(join(tmpdir(), 'tributary-enum-'));
    mkdirSync(join(root, 'e-value'));
    versions.forEach((text, i) => writeFileSync(join(root, 'e-value', `v${i + 1}.avsc`), text));
    return SchemaCatalog.load(root);
  };
  const enumSchema = (symbols: string[]) => JSON.stringify({ type: 'record', name: 'E', namespace: 'dev.tributary.test', fields: [{ name: 'protocol', type: { type: 'enum', name: 'P', symbols, default: 'Unknown' } }] });
  const oldCode = dir([enumSchema(['Unknown', 'Mqtt'])]);
  const newCode = dir([enumSchema(['Unknown', 'Mqtt']), enumSchema(['Unknown', 'Mqtt', 'Coap'])]);
  await registerAllSchemas(registry, newCode);
  const bytes = await new AvroSerde(registry, newCode).encode('e', { protocol: 'Coap' });
  assert.deepEqual(await new AvroSerde(registry, oldCode).decode(bytes), { protocol: 'Unknown' });
  assert.deepEqual(await new AvroSerde(registry, newCode).decode(bytes), { protocol: 'Coap' });
});
