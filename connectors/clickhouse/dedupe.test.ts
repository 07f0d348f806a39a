import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existingKeysSql, stringLiteral } from './dedupe.ts';

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

  it('selects the batch keys within the batch time span widened by the window', () => {
    const keys = [['dev-a', '', "it's"], ['dev-b', 'mod', 'x']] as const;
    const from = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const to = from + 10_500;
    const sql = existingKeysSql('iot', 'messages', keys, { fromMs: from, toMs: to, windowSeconds: 60 });
    assert.ok(sql.startsWith('SELECT device_id, module_id, dedupe_id FROM `iot`.`messages`'));
    assert.ok(sql.includes(`\`enqueued_time\` >= toDateTime(${Math.floor(from / 1000) - 60})`));
    assert.ok(sql.includes(`\`enqueued_time\` <= toDateTime(${Math.floor(to / 1000) + 61})`));
    assert.ok(!sql.includes("it's"));
    assert.equal(sql.split("'").length % 2, 1, 'quotes are balanced');
    // device list (2), then the three parts of each key
    assert.deepEqual(literals(sql), ['dev-a', 'dev-b', 'dev-a', '', "it's", 'dev-b', 'mod', 'x']);
  });

  it('never sends a one-element tuple list', () => {
    const sql = existingKeysSql('iot', 'device_events', [['d', '', 'k']], { fromMs: 0, toMs: 0, windowSeconds: 0 });
    assert.ok(sql.includes('`event_time` >= toDateTime(0) AND `event_time` <= toDateTime(1)'));
    assert.deepEqual(literals(sql), ['d', 'd', 'd', '', 'k', 'd', '', 'k']);
  });
});
