/**
 * What the compiler emits, without a database: every constant of every example query travels as a `$n` parameter
 * (never as SQL text), every parameter is referenced, and tag equality outside NOT uses containment (the GIN index).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NEVER } from '../../core/registry/index.ts';
import { compileTwinQuery } from './compile.ts';
import { parseTwinQuery } from './parser.ts';
import { INJECTIONS, PROJECTIONS, SELECTIONS } from './query-suite.ts';
import { tokenize } from './tokenizer.ts';

const compile = (query: string) => compileTwinQuery(query, parseTwinQuery(query), { position: { kind: 'after', deviceId: "x'y", moduleId: '' }, limit: 10 });

describe('compiled SQL', () => {
  const queries = [...SELECTIONS.map(([q]) => q), ...PROJECTIONS.map(([q]) => q), ...INJECTIONS.filter(([, o]) => o === 'nothing').map(([q]) => q)];

  test('string constants are parameters, never SQL literals; every $n is used', () => {
    for (const query of queries) {
      const { sql, params } = compile(query);
      for (const token of tokenize(query)) {
        // NEVER is the hub's own constant for "no time", written into the SQL of time properties.
        if (token.kind !== 'string' || token.value === NEVER) continue;
        const spliced = [`'${token.value.replaceAll("'", "''")}'`, `'${token.value}'`, `"${token.value}"`];
        assert.ok(!spliced.some((s) => sql.includes(s)), `${JSON.stringify(token.value)} of ${query} appears in the SQL text`);
        if (token.value.length > 3) assert.ok(!sql.includes(token.value), `${JSON.stringify(token.value)} of ${query} appears in the SQL text`);
      }
      const used = new Set([...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
      assert.deepEqual([...used].sort((a, b) => a - b), params.map((_, i) => i + 1), query);
    }
  });

  test('tag equality uses containment, except under NOT where undefined must stay undefined', () => {
    const positive = compile("SELECT * FROM devices WHERE tags.location.region = 'US'");
    assert.match(positive.sql, /t\.tags @> \$1::jsonb/);
    assert.deepEqual(JSON.parse(positive.params[0] as string), { location: { region: 'US' } });
    const negated = compile("SELECT * FROM devices WHERE NOT (tags.location.region = 'US')");
    assert.doesNotMatch(negated.sql, /@>/);
  });

  test('a property path is one text[] parameter, whatever characters its names hold', () => {
    const { sql, params } = compile("SELECT * FROM devices WHERE properties.reported['a''b'].c > 1");
    assert.match(sql, /t\.reported #> \$1::text\[\]/);
    assert.deepEqual(params[0], ["a'b", 'c']);
  });
});
