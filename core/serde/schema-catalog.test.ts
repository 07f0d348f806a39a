import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { backwardIncompatibility } from './avro-schema.ts';
import { SCHEMAS_DIR, SchemaCatalog, TOPICS, subjectForTopic } from './schema-catalog.ts';

interface FieldJson { name: string; type: unknown; doc?: string; default?: unknown }

/** Every .avsc under schemas/, read directly from disk (not through the catalog, so a file it skipped still counts). */
function allSchemaFiles(): string[] {
  return readdirSync(SCHEMAS_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.avsc')).map((f) => join(SCHEMAS_DIR, f));
}

describe('schemas/', () => {
  test('every .avsc file parses with avsc', () => {
    const files = allSchemaFiles();
    assert.ok(files.length >= 9, `expected a schema per topic, found ${files.length}`);
    for (const file of files) {
      assert.doesNotThrow(() => avro.Type.forSchema(JSON.parse(readFileSync(file, 'utf8')) as avro.Schema, { wrapUnions: false }), file);
    }
  });

  test('every topic of DESIGN.md §5 has a value schema, route topics share the dead-letter family', () => {
    const catalog = SchemaCatalog.load();
    for (const topic of Object.values(TOPICS)) assert.ok(catalog.latestForTopic(topic), `no schema for ${topic}`);
    assert.deepEqual(catalog.topics().sort(), Object.values(TOPICS).sort());
    assert.equal(catalog.latestForTopic('iot.route.alerts')?.fullName, 'dev.tributary.ForwardedRecord');
    assert.equal(catalog.latestForTopic('iot.deadletter')?.fullName, 'dev.tributary.ForwardedRecord');
    assert.equal(catalog.versionsForTopic('iot.route.').length, 0, 'a bare prefix is not a route topic');
    assert.equal(catalog.versionsForTopic('iot.unknown').length, 0);
  });

  test('records are namespaced, documented, and optional fields default to null', () => {
    const catalog = SchemaCatalog.load();
    for (const subject of catalog.subjects()) {
      for (const version of catalog.versions(subject)) {
        const json = JSON.parse(version.text) as { namespace?: string; doc?: string; fields: FieldJson[] };
        assert.equal(json.namespace, 'dev.tributary', `${version.file}: namespace`);
        assert.ok(json.doc, `${version.file}: record doc`);
        for (const field of json.fields) {
          assert.ok(field.doc, `${version.file}: field ${field.name} has no doc`);
          if (Array.isArray(field.type)) {
            assert.equal(field.type[0], 'null', `${version.file}: ${field.name}: null must be the first branch`);
            assert.equal(field.type.length, 2, `${version.file}: ${field.name}: only ["null", T] unions`);
            assert.ok('default' in field && field.default === null, `${version.file}: ${field.name} needs "default": null`);
          }
        }
      }
    }
  });

  test('each version can read the data of the version before it (BACKWARD)', () => {
    const catalog = SchemaCatalog.load();
    for (const subject of catalog.subjects()) {
      const versions = catalog.versions(subject);
      for (let i = 1; i < versions.length; i++) {
        const [older, newer] = [versions[i - 1]!, versions[i]!];
        assert.equal(backwardIncompatibility(newer.type, older.type), undefined, `${subject} v${newer.version} cannot read v${older.version}`);
      }
    }
  });

  test('the enriched message keeps every field of the accepted message, unchanged', () => {
    const catalog = SchemaCatalog.load();
    const plain = JSON.parse(catalog.latestForTopic(TOPICS.deviceMessages)!.text) as { fields: FieldJson[] };
    const enriched = JSON.parse(catalog.latestForTopic(TOPICS.deviceMessagesEnriched)!.text) as { fields: FieldJson[] };
    for (const field of plain.fields) {
      assert.deepEqual(enriched.fields.find((f) => f.name === field.name), field, `enriched ${field.name}`);
    }
  });
});

describe('SchemaCatalog.load', () => {
  function tempSchemas(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-catalog-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  }
  const record = (fields: string) => `{"type":"record","name":"R","namespace":"dev.tributary","fields":[${fields}]}`;

  test('orders versions numerically and keeps the newest as the reader', () => {
    const files: Record<string, string> = {};
    for (let v = 1; v <= 10; v++) files[`t-value/v${v}.avsc`] = record(`{"name":"f${v}","type":["null","string"],"default":null}`);
    const catalog = SchemaCatalog.load(tempSchemas(files));
    assert.deepEqual(catalog.versions('t-value').map((v) => v.version), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(catalog.latestForTopic('t')?.version, 10);
    assert.equal(catalog.latestForName('dev.tributary.R')?.version, 10);
    assert.equal(subjectForTopic('t'), 't-value');
  });

  test('refuses a gap in the versions', () => {
    const dir = tempSchemas({ 't-value/v1.avsc': record(''), 't-value/v3.avsc': record('') });
    assert.throws(() => SchemaCatalog.load(dir), { code: 'ConfigInvalid', message: /v2 was expected/ });
  });

  test('refuses a top level that is not a named record, and invalid Avro', () => {
    assert.throws(() => SchemaCatalog.load(tempSchemas({ 't-value/v1.avsc': '"string"' })), { code: 'ConfigInvalid', message: /named Avro record/ });
    assert.throws(() => SchemaCatalog.load(tempSchemas({ 't-value/v1.avsc': '{"type":"record","name":"R","fields":[{"name":"a","type":"nope"}]}' })), { code: 'ConfigInvalid' });
    assert.throws(() => SchemaCatalog.load(tempSchemas({ 'weird/v1.avsc': record('') })), { code: 'ConfigInvalid', message: /<topic>-value/ });
  });
});
