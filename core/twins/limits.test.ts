import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TributaryError } from '../errors/index.ts';
import type { JsonObject } from './document.ts';
import { checkPatch, checkSectionSize, sectionSize } from './limits.ts';

const argumentInvalid = (e: unknown) => e instanceof TributaryError && e.code === 'ArgumentInvalid' && e.iotHubCode === 400004;

function nested(levels: number): JsonObject {
  let value: JsonObject = { leaf: 1 };
  for (let i = 1; i < levels; i++) value = { [`l${i}`]: value };
  return value;
}

describe('twin key rules', () => {
  it('refuses $, dot, space and control characters anywhere in a key, at any depth', () => {
    for (const key of ['$x', 'a$b', 'a.b', 'a b', 'a\u0001b', 'a\u0085b', '']) {
      assert.throws(() => checkPatch('desired', { [key]: 1 }), argumentInvalid, JSON.stringify(key));
      assert.throws(() => checkPatch('tags', { ok: { [key]: 1 } }), argumentInvalid, JSON.stringify(key));
    }
  });

  it('accepts other UTF-8 keys up to 1024 characters', () => {
    checkPatch('reported', { 'température_1-x': 1, ['k'.repeat(1024)]: true });
    assert.throws(() => checkPatch('reported', { ['k'.repeat(1025)]: true }), argumentInvalid);
  });
});

describe('twin value rules', () => {
  it('allows 10 levels of objects and refuses 11', () => {
    checkPatch('desired', nested(10));
    assert.throws(() => checkPatch('desired', nested(11)), argumentInvalid);
  });

  it('counts objects inside arrays as levels', () => {
    checkPatch('reported', { a: [nested(9)] });
    assert.throws(() => checkPatch('reported', { a: [nested(10)] }), argumentInvalid);
  });

  it('refuses strings over 4 KB and integers outside ±2^52', () => {
    checkPatch('reported', { s: 'x'.repeat(4096), i: 4503599627370495, j: -4503599627370496, f: 1.5 });
    assert.throws(() => checkPatch('reported', { s: 'x'.repeat(4097) }), argumentInvalid);
    assert.throws(() => checkPatch('reported', { i: 4503599627370496 }), argumentInvalid);
  });
});

describe('twin section size', () => {
  it('counts keys and strings in bytes, numbers as 8 and booleans as 4, nested values summed', () => {
    // 'a'(1) + 'xyz'(3) + 'n'(1) + 8 + 'b'(1) + 4 + 'o'(1) + 'k'(1) + 'é'(2) + 'l'(1) + 8 + 8
    assert.equal(sectionSize({ a: 'xyz', n: 42, b: false, o: { k: 'é' }, l: [1, 2] }), 39);
  });

  it('allows exactly 8 KB of tags and 32 KB of properties', () => {
    // one key of 1 byte plus a string: 1 + n bytes; strings are at most 4 KB, so spread over keys of 1 byte
    const section = (bytes: number): JsonObject => {
      const out: JsonObject = {};
      let left = bytes;
      for (let i = 0; left > 0; i++) {
        const key = String.fromCharCode(97 + (i % 26)).repeat(1 + Math.floor(i / 26));
        const n = Math.min(4096, left - key.length);
        out[key] = 'v'.repeat(n);
        left -= key.length + n;
      }
      return out;
    };
    assert.equal(sectionSize(section(8192)), 8192);
    checkSectionSize('tags', section(8192));
    assert.throws(() => checkSectionSize('tags', section(8193)), argumentInvalid);
    checkSectionSize('desired', section(32768));
    assert.throws(() => checkSectionSize('reported', section(32769)), argumentInvalid);
  });
});
