import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENRICHMENT_ENDPOINTS_HEADER, applyEnrichments, compileEnrichments, enrichmentScopes, endpointScopeHeader, scopeEnrichments } from './enrichments.ts';

const twin = { version: 3, tags: { a: { b: 'x' }, n: null, list: [1, 2] }, properties: { desired: { d: true, $version: 2 }, reported: { r: 1.5, $version: 4 } } };

test('values resolve from static text, the hub name and twin paths; missing and null paths are left out', () => {
  const compiled = compileEnrichments([
    { name: 's', value: 'plain' },
    { name: 'h', value: '$iothubname' },
    { name: 'ab', value: '$twin.tags.a.b' },
    { name: 'a', value: '$twin.tags.a' },
    { name: 'list', value: '$twin.tags.list' },
    { name: 'n', value: '$twin.tags.n' },
    { name: 'through-string', value: '$twin.tags.a.b.c' },
    { name: 'd', value: '$twin.properties.desired.d' },
    { name: 'dv', value: '$twin.properties.desired.$version' },
    { name: 'r', value: '$twin.properties.reported.r' },
    { name: 'gone', value: '$twin.properties.reported.zzz' },
  ]);
  assert.deepEqual(applyEnrichments(compiled, 'hub1', twin), {
    s: 'plain', h: 'hub1', ab: 'x', a: '{"b":"x"}', list: '[1,2]', d: 'true', dv: '2', r: '1.5',
  });
  assert.deepEqual(applyEnrichments(compiled, 'hub1', null), { s: 'plain', h: 'hub1' }, 'without a twin only non-twin values');
});

test('unknown $ expressions, empty path segments and duplicate names are configuration errors', () => {
  for (const value of ['$twin', '$twin.tags', '$twin.properties.desired', '$twin.tags..x', '$body.x', '$IotHubName']) {
    assert.throws(() => compileEnrichments([{ name: 'x', value }]), { code: 'ConfigInvalid' }, value);
  }
  assert.throws(() => compileEnrichments([{ name: 'x', value: 'a' }, { name: 'x', value: 'b' }]), { code: 'ConfigInvalid', message: /used twice/ });
});

test('the scope header round-trips; an endpoint keeps unscoped enrichments and those scoped to it', () => {
  const header = endpointScopeHeader(compileEnrichments([{ name: 'all', value: 'a' }, { name: 'st', value: 's', endpointNames: ['storage', 'lake'] }, { name: 'q', value: 'q', endpointNames: ['queue'] }]));
  const scopes = enrichmentScopes({ [ENRICHMENT_ENDPOINTS_HEADER]: Buffer.from(header!) });
  assert.deepEqual(scopes, { st: ['storage', 'lake'], q: ['queue'] });
  const values = { all: 'a', st: 's', q: 'q' };
  assert.deepEqual(scopeEnrichments(values, scopes, 'lake'), { all: 'a', st: 's' });
  assert.deepEqual(scopeEnrichments(values, scopes, 'queue'), { all: 'a', q: 'q' });
  assert.deepEqual(scopeEnrichments(values, scopes, 'events'), { all: 'a' });
  assert.deepEqual(scopeEnrichments(values, undefined, 'events'), values, 'no header: every enrichment');
  assert.equal(endpointScopeHeader(compileEnrichments([{ name: 'all', value: 'a' }])), undefined);
  assert.equal(enrichmentScopes({}), undefined);
  assert.throws(() => enrichmentScopes({ [ENRICHMENT_ENDPOINTS_HEADER]: Buffer.from('{nope') }), { code: 'ArgumentInvalid' });
});
