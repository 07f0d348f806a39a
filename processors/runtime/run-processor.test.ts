import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { TributaryError } from '../../core/errors/index.ts';
import { TOPICS } from '../../core/log/topics.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { eventually } from '../../test/support/services.ts';
import { defineProcessor } from './define-processor.ts';
import { runProcessor } from './run-processor.ts';

let platform: EmbeddedPlatform;
before(async () => {
  platform = await openEmbeddedPlatform();
  await platform.log.createTopics([
    { name: 'in', partitions: 3 },
    { name: 'out', partitions: 3 },
    { name: TOPICS.deadLetter, partitions: 1 },
  ]);
});
after(() => platform.close());

test('a retriable error replays the batch instead of dead-lettering, and each record is forwarded once', async () => {
  let failuresLeft = 2;
  const seen: string[] = [];
  const committed = new Map<number, number>(); // partition → nextOffset the onCommitted hook saw
  const flaky = defineProcessor({
    name: 'flaky-upper',
    description: 'upper-cases values; the store it needs is down for the first two calls',
    configSchema: Type.Object({}),
    inputTopics: () => ['in'],
    create: () => ({
      process(record) {
        const text = record.value!.toString();
        if (failuresLeft > 0) {
          failuresLeft--;
          throw new TributaryError('StoreUnavailable', 'store down');
        }
        seen.push(text);
        return [{ topic: 'out', key: record.key, value: text.toUpperCase() }];
      },
      onCommitted({ partition, nextOffset }) {
        committed.set(partition, nextOffset);
      },
    }),
  });
  const values = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}` }));
  await platform.log.produce('in', values);

  const running = await runProcessor(flaky, { log: platform.log, serde: platform.serde });
  try {
    const out = await platform.readTopic('out', 30);
    assert.deepEqual(out.map((r) => r.value!.toString()).sort(), values.map((v) => v.value.toUpperCase()).sort());
    await eventually('all input committed', async () => {
      const committed = await platform.log.committedOffsets(running.groupId, 'in');
      return committed.reduce((n, c) => n + c.offset, 0) === 30 ? true : undefined;
    });
  } finally {
    await running.stop();
  }
  assert.equal(failuresLeft, 0);
  assert.equal([...committed.values()].reduce((n, o) => n + o, 0), 30, 'onCommitted saw every partition committed to its end');
  assert.equal((await platform.log.endOffsets('out')).reduce((n, p) => n + p.offset, 0), 30, 'no duplicates: failed batches produced nothing');
  assert.equal((await platform.log.endOffsets(TOPICS.deadLetter)).reduce((n, p) => n + p.offset, 0), 0, 'nothing dead-lettered');
});
