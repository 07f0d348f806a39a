import { test } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import { TOPICS } from '../../core/log/topics.ts';
import { SAMPLE_VALUES } from '../../core/serde/fixtures.ts';
import { SchemaCatalog, type DeviceMessage } from '../../core/serde/index.ts';
import type { AvroType } from '../../core/serde/avro-schema.ts';
import { planSplice } from './splice.ts';

const catalog = SchemaCatalog.load();
const input = catalog.latestForTopic(TOPICS.deviceMessages)!.type;
const output = { id: 77, type: catalog.latestForTopic(TOPICS.deviceMessagesEnriched)!.type };

function framed(type: AvroType, id: number, value: unknown): Buffer {
  const body = type.toBuffer(value);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, body]);
}

const messages: DeviceMessage[] = [
  SAMPLE_VALUES['iot.device.messages'],
  { ...SAMPLE_VALUES['iot.device.messages'], messageId: null, connectionModuleId: 'mod-1', properties: {}, body: Buffer.alloc(0) },
  // Bodies of 64 bytes and more take a two-byte length, 8192 and more three.
  { ...SAMPLE_VALUES['iot.device.messages'], body: Buffer.alloc(64, 7) },
  { ...SAMPLE_VALUES['iot.device.messages'], connectionDeviceId: 'ü-device', body: Buffer.alloc(70_000, 1) },
];
const additions: { enrichments: Record<string, string>; twin: string | null }[] = [
  { enrichments: {}, twin: null },
  { enrichments: { building: '43', hub: 'test-hub' }, twin: '{"tags":{"building":"43"},"version":3}' },
];

test('a spliced value has exactly the bytes of the decoded message encoded with its enrichments and twin', () => {
  const plan = planSplice(input, output);
  assert.ok(plan, 'the checked-in schemas allow splicing');
  for (const message of messages) {
    const value = framed(input, 5, message);
    const read = plan.read(value);
    assert.ok(read);
    assert.equal(read.fields.connectionDeviceId, message.connectionDeviceId);
    assert.equal(read.fields.connectionModuleId, message.connectionModuleId ?? null);
    assert.equal(read.fields.messageId, message.messageId ?? null);
    for (const add of additions) {
      const spliced = plan.splice(value, read.bodyFieldStart, plan.encodeInsert(add.enrichments, add.twin));
      assert.deepEqual(spliced, framed(output.type, output.id, { ...message, ...add }));
      assert.deepEqual({ ...(output.type.fromBuffer(spliced.subarray(5)) as object) }, { ...(output.type.fromBuffer(output.type.toBuffer({ ...message, ...add })) as object) });
    }
  }
});

test('no plan when the layouts differ: the input is not the output minus the added fields before body', () => {
  assert.equal(planSplice(output.type, output), undefined, 'enriched as input');
  const schema = input.schema() as { fields: unknown[] } & Record<string, unknown>;
  const extra = avro.Type.forSchema({ ...schema, fields: [...schema.fields.slice(0, -1), { name: 'x', type: 'int', default: 0 }, ...schema.fields.slice(-1)] } as avro.Schema, { wrapUnions: false });
  assert.equal(planSplice(extra, output), undefined, 'an input with a field the output lacks');
  const reordered = avro.Type.forSchema({ ...schema, fields: [schema.fields[1], schema.fields[0], ...schema.fields.slice(2)] } as avro.Schema, { wrapUnions: false });
  assert.equal(planSplice(reordered, output), undefined, 'fields in another order');
  assert.ok(planSplice(avro.Type.forSchema(schema as avro.Schema, { wrapUnions: false }), output), 'the same schema parsed again still plans');
});

test('bytes the plan cannot place are refused, for the decode path to handle', () => {
  const plan = planSplice(input, output)!;
  const value = framed(input, 5, messages[0]);
  assert.equal(plan.read(value.subarray(0, 3)), undefined, 'shorter than the header');
  assert.equal(plan.read(value.subarray(0, value.length - 1)), undefined, 'truncated');
  assert.equal(plan.read(Buffer.concat([value, Buffer.from([0])])), undefined, 'trailing bytes');
  // The same message with the body length written as a padded (two-byte) varint: valid Avro, but not where the plan looks.
  const body = messages[0]!.body;
  const start = value.length - body.length - 1;
  const padded = Buffer.concat([value.subarray(0, start), Buffer.from([(body.length * 2) | 0x80, 0]), body]);
  assert.deepEqual((input.fromBuffer(padded.subarray(5)) as DeviceMessage).body, body, 'the padded value is valid');
  assert.equal(plan.read(padded), undefined);
});
