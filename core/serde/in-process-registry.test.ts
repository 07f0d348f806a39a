import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProcessSchemaRegistry, REGISTRY_FILE_NAME } from './in-process-registry.ts';

const v1 = JSON.stringify({ type: 'record', name: 'Reading', namespace: 'dev.tributary.test', fields: [{ name: 'deviceId', type: 'string' }] });
/** Adds an optional field with a default: new readers can read old data, so BACKWARD-compatible. */
const v2 = JSON.stringify({ type: 'record', name: 'Reading', namespace: 'dev.tributary.test', fields: [{ name: 'deviceId', type: 'string' }, { name: 'unit', type: ['null', 'string'], default: null }] });
/** Adds a required field: a v2-bad reader cannot read v1 data, so BACKWARD-incompatible. */
const v2bad = JSON.stringify({ type: 'record', name: 'Reading', namespace: 'dev.tributary.test', fields: [{ name: 'deviceId', type: 'string' }, { name: 'unit', type: 'string' }] });
const other = JSON.stringify({ type: 'record', name: 'Other', namespace: 'dev.tributary.test', fields: [{ name: 'n', type: 'long' }] });

const tempDir = () => mkdtempSync(join(tmpdir(), 'tributary-registry-'));

describe('InProcessSchemaRegistry', () => {
  test('register returns ids that getSchema and latest answer with', async () => {
    const registry = await InProcessSchemaRegistry.open();
    const id1 = await registry.register('a-value', v1);
    const id2 = await registry.register('a-value', v2);
    assert.notEqual(id1, id2);
    assert.equal(await registry.getSchema(id1), v1);
    assert.equal(await registry.getSchema(id2), v2);
    assert.deepEqual(await registry.latest('a-value'), { id: id2, subject: 'a-value', version: 2, schema: v2 });
    assert.equal(await registry.latest('nobody-value'), undefined);
  });

  test('registering a known schema again is idempotent, whatever its whitespace', async () => {
    const registry = await InProcessSchemaRegistry.open();
    const id = await registry.register('a-value', v1);
    assert.equal(await registry.register('a-value', JSON.stringify(JSON.parse(v1), null, 4)), id);
    const reordered = JSON.stringify({ fields: [{ type: 'string', name: 'deviceId' }], namespace: 'dev.tributary.test', name: 'Reading', type: 'record' });
    assert.equal(await registry.register('a-value', reordered), id, 'JSON key order does not make a new schema');
    await registry.register('a-value', v2);
    assert.equal(await registry.register('a-value', v1), id, 'an older version keeps its id and adds no version');
    assert.equal((await registry.latest('a-value'))?.version, 2);
  });

  test('ids are global: the same schema under two subjects has one id, another schema another', async () => {
    const registry = await InProcessSchemaRegistry.open();
    const a = await registry.register('a-value', v1);
    const b = await registry.register('b-value', v1);
    const c = await registry.register('c-value', other);
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.equal((await registry.latest('b-value'))?.version, 1);
  });

  test('a BACKWARD-incompatible change is refused and leaves the subject as it was', async () => {
    const registry = await InProcessSchemaRegistry.open();
    const id = await registry.register('a-value', v1);
    assert.equal(await registry.checkCompatibility('a-value', v2bad), false);
    assert.equal(await registry.checkCompatibility('a-value', v2), true);
    assert.equal(await registry.checkCompatibility('fresh-value', v2bad), true);
    await assert.rejects(registry.register('a-value', v2bad), { code: 'SchemaIncompatible', message: /BACKWARD/ });
    assert.deepEqual(await registry.latest('a-value'), { id, subject: 'a-value', version: 1, schema: v1 });
    const renamed = JSON.stringify({ ...JSON.parse(v1), name: 'Renamed' });
    await assert.rejects(registry.register('a-value', renamed), { code: 'SchemaIncompatible' });
  });

  test('checks only against the latest version, as Confluent BACKWARD does', async () => {
    const registry = await InProcessSchemaRegistry.open();
    await registry.register('a-value', v1);
    await registry.register('a-value', v2);
    // v3 drops deviceId: a v3 reader ignores it in v2 data, so v3 is BACKWARD-compatible with v2 (and v1).
    const v3 = JSON.stringify({ type: 'record', name: 'Reading', namespace: 'dev.tributary.test', fields: [{ name: 'unit', type: ['null', 'string'], default: null }] });
    assert.equal(await registry.checkCompatibility('a-value', v3), true);
    await registry.register('a-value', v3);
    assert.equal((await registry.latest('a-value'))?.version, 3);
  });

  test('invalid Avro is refused with ArgumentInvalid, an unknown id with SchemaNotFound', async () => {
    const registry = await InProcessSchemaRegistry.open();
    await assert.rejects(registry.register('a-value', '{"type":"record"'), { code: 'ArgumentInvalid' });
    await assert.rejects(registry.register('a-value', '{"type":"recordz","name":"X"}'), { code: 'ArgumentInvalid' });
    await assert.rejects(registry.getSchema(4242), { code: 'SchemaNotFound' });
  });

  test('concurrent registrations get consecutive versions and distinct ids', async () => {
    const registry = await InProcessSchemaRegistry.open({ dataDir: tempDir() });
    const schemas = Array.from({ length: 8 }, (_, i) => JSON.stringify({ type: 'record', name: 'R', fields: Array.from({ length: i + 1 }, (_, j) => ({ name: `f${j}`, type: ['null', 'int'], default: null })) }));
    const ids = await Promise.all(schemas.map((s) => registry.register('r-value', s)));
    assert.equal(new Set(ids).size, 8);
    assert.equal((await registry.latest('r-value'))?.version, 8);
  });

  test('ids, versions and the next id survive a reopen of the data dir', async () => {
    const dir = tempDir();
    const first = await InProcessSchemaRegistry.open({ dataDir: dir });
    const id1 = await first.register('a-value', v1);
    const id2 = await first.register('a-value', v2);
    const idOther = await first.register('c-value', other);
    await first.close();
    await assert.rejects(first.register('a-value', v1), /closed/);

    const second = await InProcessSchemaRegistry.open({ dataDir: dir });
    assert.equal(await second.getSchema(id1), v1);
    assert.equal(await second.getSchema(idOther), other);
    assert.deepEqual(await second.latest('a-value'), { id: id2, subject: 'a-value', version: 2, schema: v2 });
    assert.equal(await second.register('a-value', v2), id2, 'still idempotent after reopen');
    await assert.rejects(second.register('a-value', v2bad), { code: 'SchemaIncompatible' });
    const fresh = await second.register('d-value', JSON.stringify({ type: 'record', name: 'D', fields: [] }));
    assert.ok(![id1, id2, idOther].includes(fresh), 'a new schema never reuses an id');
    assert.deepEqual(readdirSync(dir), [REGISTRY_FILE_NAME], 'no temporary file left behind');
  });

  test('a damaged registry file stops start-up with ConfigInvalid instead of minting clashing ids', async () => {
    const dir = tempDir();
    const registry = await InProcessSchemaRegistry.open({ dataDir: dir });
    await registry.register('a-value', v1);
    const file = join(dir, REGISTRY_FILE_NAME);
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 20));
    await assert.rejects(InProcessSchemaRegistry.open({ dataDir: dir }), { code: 'ConfigInvalid', message: /damaged/ });
  });
});
