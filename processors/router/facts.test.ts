import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EnrichedDeviceMessage } from '../../core/serde/index.ts';
import { deviceMessageFacts, isJsonUtf8 } from './facts.ts';

const message = (twin: string | null, extra: Partial<EnrichedDeviceMessage> = {}): EnrichedDeviceMessage => ({
  messageId: 'm', contentType: 'application/json', contentEncoding: 'utf-8', enqueuedTime: 0, connectionDeviceId: 'd',
  ingestNode: 'n', protocol: 'Mqtt', properties: {}, enrichments: {}, twin, body: Buffer.from('{"a":1}'), ...extra,
});

test('messages carrying the same twin text share one parsed, frozen twin; another text parses anew', () => {
  const text = '{"tags":{"building":"43","floor":{"n":2}}}';
  const first = deviceMessageFacts(message(text)).twin() as { tags: { building: string; floor: { n: number } } };
  const second = deviceMessageFacts(message(`${text}`)).twin();
  assert.equal(second, first);
  assert.deepEqual(first, { tags: { building: '43', floor: { n: 2 } } });
  assert.ok(Object.isFrozen(first.tags.floor), 'shared by every record of the device, so nobody may change it');
  assert.throws(() => {
    'use strict';
    first.tags.building = '44';
  }, TypeError);
  const other = deviceMessageFacts(message('{"tags":{"building":"44"}}')).twin();
  assert.deepEqual(other, { tags: { building: '44' } });
  assert.equal(deviceMessageFacts(message(null)).twin(), undefined);
});

test('a twin that is not JSON fails each record that reads it', () => {
  for (let i = 0; i < 2; i++) assert.throws(() => deviceMessageFacts(message('{not json')).twin(), /twin attached to message m is not valid JSON/);
});

test('isJsonUtf8 answers for each pair, also when the pair changes between calls', () => {
  const pairs: [string | null | undefined, string | null | undefined, boolean][] = [
    ['application/json', 'utf-8', true], ['application/json', 'utf-8', true], ['Application/JSON; charset=utf-8', ' UTF-8 ', true],
    ['application/json', 'utf-16', false], ['text/plain', 'utf-8', false], [null, null, false], [undefined, undefined, false], ['application/json', 'utf-8', true],
  ];
  for (const [type, encoding, expected] of pairs) assert.equal(isJsonUtf8(type, encoding), expected, `${type} / ${encoding}`);
});
