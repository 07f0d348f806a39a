import { test } from 'node:test';
import assert from 'node:assert/strict';
import { messageSize, sizeAbove, type InboundMessage } from './envelope.ts';

const message = (text: string, body = 10): InboundMessage => ({
  system: { messageId: text, contentType: 'application/json' },
  properties: { [text]: text, k: 'v' },
  body: Buffer.alloc(body),
});

test('messageSize counts the body and the UTF-8 bytes of keys, values and system properties', () => {
  // body 10 + messageId 2 + contentType 16 + key 2 + value 2 + k 1 + v 1; 'é' is two bytes in UTF-8.
  assert.equal(messageSize(message('é')), 34);
});

test('sizeAbove is the exact size above the limit and undefined at or below it, also for multi-byte text', () => {
  for (const text of ['a', 'é', '€', '\u{1F600}', '\uD800', 'ab€\u{1F600}'.repeat(50)]) {
    for (const body of [0, 10, 1000]) {
      const m = message(text, body);
      const size = messageSize(m);
      for (const limit of [0, size - 1, size, size + 1, size * 3]) {
        assert.equal(sizeAbove(m, limit), size > limit ? size : undefined, `${JSON.stringify(text)} body ${body} limit ${limit}`);
      }
    }
  }
});
