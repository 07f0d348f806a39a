import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TributaryError } from '../errors/index.ts';
import { applySectionPatch, diffSections, parseSection } from './patch.ts';

const T1 = '2026-01-01T00:00:00.000Z';
const T2 = '2026-01-02T00:00:00.000Z';

describe('applySectionPatch', () => {
  it('merges nested objects, replaces leaves and arrays, deletes on null', () => {
    const values = { a: 1, obj: { x: 1, y: { z: 'keep' } }, list: [1, 2], gone: true };
    const { values: next } = applySectionPatch(values, {}, { a: 2, obj: { x: null, y: { w: 3 } }, list: [3], gone: null, added: 'new' }, { lastUpdated: T1 });
    assert.deepEqual(next, { a: 2, obj: { y: { z: 'keep', w: 3 } }, list: [3], added: 'new' });
    // inputs untouched
    assert.deepEqual(values, { a: 1, obj: { x: 1, y: { z: 'keep' } }, list: [1, 2], gone: true });
  });

  it('stamps written leaves and every level on the way down, keeps stamps of untouched leaves', () => {
    const first = applySectionPatch({}, {}, { a: 1, obj: { x: 1, y: 2 } }, { lastUpdated: T1, lastUpdatedVersion: 2 });
    assert.deepEqual(first.metadata, {
      $lastUpdated: T1, $lastUpdatedVersion: 2,
      a: { $lastUpdated: T1, $lastUpdatedVersion: 2 },
      obj: { $lastUpdated: T1, $lastUpdatedVersion: 2, x: { $lastUpdated: T1, $lastUpdatedVersion: 2 }, y: { $lastUpdated: T1, $lastUpdatedVersion: 2 } },
    });
    const second = applySectionPatch(first.values, first.metadata, { obj: { y: 3 } }, { lastUpdated: T2, lastUpdatedVersion: 3 });
    assert.deepEqual(second.metadata, {
      $lastUpdated: T2, $lastUpdatedVersion: 3,
      a: { $lastUpdated: T1, $lastUpdatedVersion: 2 },
      obj: { $lastUpdated: T2, $lastUpdatedVersion: 3, x: { $lastUpdated: T1, $lastUpdatedVersion: 2 }, y: { $lastUpdated: T2, $lastUpdatedVersion: 3 } },
    });
  });

  it('removes the metadata of deleted keys and drops nulls inside new objects', () => {
    const first = applySectionPatch({}, {}, { a: 1, b: { c: null, d: 1 } }, { lastUpdated: T1 });
    assert.deepEqual(first.values, { a: 1, b: { d: 1 } });
    const second = applySectionPatch(first.values, first.metadata, { a: null }, { lastUpdated: T2 });
    assert.deepEqual(second.values, { b: { d: 1 } });
    assert.equal('a' in second.metadata, false);
    assert.equal(second.metadata.$lastUpdated, T2);
  });

  it('a leaf replaced by an object gets fresh metadata for the whole object', () => {
    const first = applySectionPatch({}, {}, { a: 1 }, { lastUpdated: T1 });
    const second = applySectionPatch(first.values, first.metadata, { a: { b: { c: 1 } } }, { lastUpdated: T2 });
    assert.deepEqual(second.metadata.a, { $lastUpdated: T2, b: { $lastUpdated: T2, c: { $lastUpdated: T2 } } });
  });
});

describe('diffSections', () => {
  it('is the patch that turns one section into the other', () => {
    const from = { same: 1, changed: 'a', removed: true, obj: { keep: 1, drop: 2 }, list: [1] };
    const to = { same: 1, changed: 'b', obj: { keep: 1, add: 3 }, list: [1], added: { n: null, m: 1 } };
    const patch = diffSections(from, to);
    assert.deepEqual(patch, { removed: null, changed: 'b', obj: { drop: null, add: 3 }, added: { m: 1 } });
    assert.deepEqual(applySectionPatch(from, {}, patch, { lastUpdated: T1 }).values, { same: 1, changed: 'b', obj: { keep: 1, add: 3 }, list: [1], added: { m: 1 } });
  });

  it('is empty for equal sections (arrays compared by value)', () => {
    assert.deepEqual(diffSections({ a: [1, { b: 2 }], c: { d: 'x' } }, { c: { d: 'x' }, a: [1, { b: 2 }] }), {});
  });
});

describe('parseSection', () => {
  it('drops $metadata and $version at the root (a twin read can be sent back) but refuses other $ keys', () => {
    assert.deepEqual(parseSection('desired', { $version: 4, $metadata: {}, a: 1 }), { a: 1 });
    assert.throws(() => parseSection('desired', { $foo: 1 }), (e: unknown) => e instanceof TributaryError && e.code === 'ArgumentInvalid');
    assert.throws(() => parseSection('desired', { a: { $version: 1 } }), (e: unknown) => e instanceof TributaryError && e.code === 'ArgumentInvalid');
  });

  it('refuses a section that is not an object', () => {
    for (const bad of [null, [1], 'x', 3]) {
      assert.throws(() => parseSection('reported', bad), (e: unknown) => e instanceof TributaryError && e.status === 400);
    }
  });
});
