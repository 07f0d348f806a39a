import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KEYS_TABLE, existingKeysSql, keysTsv, stringLiteral, tsvField } from './dedupe.ts';

/** Every literal the SQL holds, decoded the way ClickHouse reads `\xHH` escapes. */
const LITERAL = /'((?:[A-Za-z0-9_.:/@-]|\\x[0-9a-f]{2})*)'/g;
function unescape(content: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < content.length; i++) {
    if (content[i] === '\\') {
      bytes.push(Number.parseInt(content.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      bytes.push(content.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
const literals = (sql: string) => [...sql.matchAll(LITERAL)].map((m) => unescape(m[1]!));

describe('dedupe query', () => {
  it('string literals carry any text with only safe characters and \\x escapes', () => {
    const nasty = "m-1') OR 1=1 --\\'\u0000é😀";
    const literal = stringLiteral(nasty);
    assert.match(literal, /^'(?:[A-Za-z0-9_.:/@-]|\\x[0-9a-f]{2})*'$/);
    assert.ok(literal.includes('\\x27') && literal.includes('\\x5c'), 'quote and backslash are escaped');
    assert.deepEqual(literals(literal), [nasty]);
    assert.equal(stringLiteral(''), "''");
    assert.equal(stringLiteral('iot.device.messages/3/42'), "'iot.device.messages/3/42'");
  });

  it('selects the external table\'s keys within the batch time span widened by the window', () => {
    const from = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const to = from + 10_500;
    const sql = existingKeysSql('iot', 'messages', { fromMs: from, toMs: to, windowSeconds: 60 });
    assert.ok(sql.startsWith('SELECT device_id, module_id, dedupe_id FROM `iot`.`messages`'));
    assert.ok(sql.includes(`\`enqueued_time\` >= toDateTime(${Math.floor(from / 1000) - 60})`));
    assert.ok(sql.includes(`\`enqueued_time\` <= toDateTime(${Math.floor(to / 1000) + 61})`));
    assert.ok(sql.includes(`(device_id, module_id, dedupe_id) IN ${KEYS_TABLE}`));
    assert.ok(!sql.includes("'"), 'no literal: the keys are data, not SQL');
    const events = existingKeysSql('iot', 'device_events', { fromMs: 0, toMs: 0, windowSeconds: 0 });
    assert.ok(events.includes('`event_time` >= toDateTime(0) AND `event_time` <= toDateTime(1)'));
  });

  it('keys travel as one TabSeparated row each, whatever bytes they hold', () => {
    const nasty = "m-1') OR 1=1 --\\'\t\n\r\u0000é😀";
    const tsv = keysTsv([['dev-a', '', nasty], ['dev-b', 'mod', 'x']]);
    const rows = tsv.split('\n');
    assert.equal(rows.length, 3);
    assert.equal(rows[2], '');
    assert.equal(rows[1], 'dev-b\tmod\tx');
    const fields = rows[0]!.split('\t');
    assert.equal(fields.length, 3);
    assert.deepEqual(fields.slice(0, 2), ['dev-a', '']);
    assert.ok(!tsv.includes('\r') && !tsv.includes('\u0000'), 'no raw CR or NUL');
    // Undo ClickHouse's TSV escapes: the key comes back unchanged.
    const back = fields[2]!.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r', 0: '\u0000' } as Record<string, string>)[c] ?? c);
    assert.equal(back, nasty);
    assert.equal(tsvField('iot.device.messages/3/42'), 'iot.device.messages/3/42');
  });
});
