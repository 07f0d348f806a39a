import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCloudBag, parseDeviceBag } from './property-bag.ts';

test('parses the device→hub example of iothub-wire.md §2.3', () => {
  const bag = '%24.mid=mid-1&%24.cid=cid-1&%24.uid=user-1&%24.ct=application%2Fjson&%24.ce=utf-8&%24.exp=2030-01-01T00%3A00%3A00.000Z&alert%20level=high%20%26%20hot&%24.sub=comp1&%24x=y%2Fz';
  const parsed = parseDeviceBag(bag);
  assert.deepEqual(parsed.system, {
    messageId: 'mid-1', correlationId: 'cid-1', userId: 'user-1', contentType: 'application/json', contentEncoding: 'utf-8',
    expiryTime: '2030-01-01T00:00:00.000Z', componentName: 'comp1',
  });
  // App properties keep their order; `$x` (sent as %24x) stays an application property.
  assert.deepEqual(Object.entries(parsed.properties), [['alert level', 'high & hot'], ['$x', 'y/z']]);
});

test('module output bag: $.on first and a trailing slash', () => {
  const parsed = parseDeviceBag('%24.on=out1&%24.mid=m&k=v/');
  assert.equal(parsed.system.outputName, 'out1');
  assert.equal(parsed.system.messageId, 'm');
  assert.deepEqual(parsed.properties, { k: 'v' });
});

test('empty bag, "+" is not a space, a key without "=" is empty, unknown $. keys stay application properties', () => {
  assert.deepEqual(parseDeviceBag(''), { system: {}, properties: {} });
  assert.deepEqual(parseDeviceBag('a+b=c+d&flag&%24.zz=1').properties, { 'a+b': 'c+d', flag: '', '$.zz': '1' });
});

test('bad percent-encoding is refused with ArgumentInvalid', () => {
  assert.throws(() => parseDeviceBag('k=%E0%A4%A'), { code: 'ArgumentInvalid' });
});

test('generates the hub→device example of iothub-wire.md §2.4 exactly', () => {
  const bag = formatCloudBag({
    messageId: 'c2d-1', to: '/devices/dev1/messages/deviceBound', contentType: 'application/json', contentEncoding: 'utf-8',
    correlationId: 'corr-9', expiryTime: Date.parse('2030-01-01T00:00:00Z'), ack: 'full', properties: { prop1: 'val 1', 'a/b': 'c&d' },
  });
  assert.equal(bag, '%24.mid=c2d-1&%24.to=%2Fdevices%2Fdev1%2Fmessages%2FdeviceBound&%24.ct=application%2Fjson&%24.ce=utf-8&%24.cid=corr-9&%24.exp=2030-01-01T00%3A00%3A00Z&iothub-ack=full&prop1=val%201&a%2Fb=c%26d');
});

test('a generated bag is read back by the SDK\'s parsing rule (split on & and =, decodeURIComponent)', () => {
  const properties = { 'x=y': 'a&b', spaced: 'one two', slash: '/p/q', unicode: 'grüße' };
  const bag = formatCloudBag({ messageId: 'm 1', properties });
  assert.ok(!bag.includes('/'), 'no raw slash may leak into the topic segment');
  const seen: Record<string, string> = {};
  for (const pair of bag.split('&')) {
    const [k, v] = pair.split('=');
    seen[decodeURIComponent(k ?? '')] = decodeURIComponent(v ?? '');
  }
  assert.deepEqual(seen, { '$.mid': 'm 1', ...properties });
});
