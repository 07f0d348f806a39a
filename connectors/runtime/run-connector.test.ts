import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { TOPICS } from '../../core/log/topics.ts';
import { DLQ_HEADERS } from '../../core/runtime/dead-letter.ts';
import type { ForwardedRecord } from '../../core/serde/index.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { eventually } from '../../test/support/services.ts';
import { SinkError, defineConnector, type SinkBatch } from './define-connector.ts';
import { runConnector } from './run-connector.ts';

let platform: EmbeddedPlatform;
before(async () => {
  platform = await openEmbeddedPlatform();
  await platform.log.createTopics([{ name: 'iot.route.sink', partitions: 2 }, { name: TOPICS.deadLetter, partitions: 1 }]);
});
after(() => platform.close());

test('retriable sink failures are retried until written; poison records named by the sink are dead-lettered', async () => {
  const written: string[] = [];
  let outagesLeft = 2;
  let attempts = 0;
  const memorySink = defineConnector({
    name: 'memory',
    description: 'collects values; rejects "poison" values permanently and has a short outage first',
    configSchema: Type.Object({ label: Type.String({ default: 'm' }) }),
    create: () => ({
      async connect() {},
      async close() {},
      async writeBatch(batch: SinkBatch) {
        attempts++;
        if (outagesLeft > 0) {
          outagesLeft--;
          throw new SinkError('sink unreachable', { retriable: true });
        }
        const poison = batch.records.flatMap((r, i) => (r.value?.toString().startsWith('poison') ? [i] : []));
        batch.records.forEach((r, i) => {
          if (!poison.includes(i)) written.push(r.value!.toString());
        });
        if (poison.length > 0) throw new SinkError(`${poison.length} records are not valid for this sink`, { retriable: false, failed: poison });
      },
    }),
  });
  const values = Array.from({ length: 40 }, (_, i) => (i % 10 === 3 ? `poison-${i}` : `ok-${i}`));
  await platform.log.produce('iot.route.sink', values.map((value, i) => ({ key: `d${i % 4}`, value })));

  const running = await runConnector(memorySink, { log: platform.log, serde: platform.serde, topics: ['iot.route.sink'] });
  try {
    const dead = await platform.readTopic(TOPICS.deadLetter, 4);
    const deadValues = await Promise.all(dead.map(async (r) => (await platform.serde.decode<ForwardedRecord>(r.value!)).value!.toString()));
    assert.deepEqual(deadValues.sort(), values.filter((v) => v.startsWith('poison')).sort());
    assert.ok(dead.every((r) => r.headers[DLQ_HEADERS.code]?.toString() === 'SinkWriteFailed'));
    await eventually('all records committed', async () => {
      const committed = await platform.log.committedOffsets(running.groupId, 'iot.route.sink');
      return committed.reduce((n, c) => n + c.offset, 0) === 40 ? true : undefined;
    });
  } finally {
    await running.stop();
  }
  assert.equal(outagesLeft, 0);
  assert.ok(attempts >= 3, 'the outage was retried, not skipped');
  assert.deepEqual(written.sort(), values.filter((v) => v.startsWith('ok')).sort(), 'every good record written exactly once');
});
