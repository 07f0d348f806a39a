/**
 * parseDeviceBag's one-pass decoder (own ASCII percent-decoding, raw system-key lookup) against the straightforward
 * reading of iothub-wire.md §2.3 it replaced — split on `&`, split each pair at the first `=`, decodeURIComponent both
 * sides — on seeded random bags built from the characters that matter: separators, `%` escapes (ASCII, multi-byte
 * UTF-8, truncated, non-hex, lower-case), system keys in every spelling, `__proto__`, a trailing `/`.
 * Replay a failure with PROPERTY_BAG_DIFF_SEED=<seed from the message>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDeviceBag, SYSTEM_KEYS, type ParsedBag } from './property-bag.ts';
import { seededRandom } from '../../test/support/seeded-random.ts';

/** The decoder before the hot-path rewrite, kept as the reference. */
function referenceParse(bag: string): ParsedBag {
  const decode = (text: string): string => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new Error('bad encoding');
    }
  };
  const result: ParsedBag = { system: {}, properties: {} };
  const text = bag.endsWith('/') ? bag.slice(0, -1) : bag;
  if (text === '') return result;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    if (key === '') continue;
    const field = Object.hasOwn(SYSTEM_KEYS, key) ? SYSTEM_KEYS[key as keyof typeof SYSTEM_KEYS] : undefined;
    if (field !== undefined) result.system[field] = value;
    else result.properties[key] = value;
  }
  return result;
}

const PIECES = [
  '&', '&', '=', '=', '/', '$', '.', '+', ' ', 'a', 'k', 'Z', '0', '9', '-', 'é', '€', '\u{1F600}',
  '%', '%2', '%2F', '%2f', '%3A', '%20', '%26', '%3D', '%24', '%25', '%00', '%7F', '%80', '%C3%A9', '%c3%a9', '%E2%82%AC',
  '%F0%9F%98%80', '%C3', '%E2%82', '%zz', '%G1', '%1', '%%', '%ED%A0%80',
  '$.mid', '%24.mid', '%24.ct', '$.ce', '%24.on', '%24.exp', '%24.ctime', '%24.sub', '%24.ifid', '%24.zz', '%24%2Emid', '%24.MID',
  '__proto__', 'constructor', 'toString', 'dt-subject', '1', '42',
  // System key names and prefixes on their own, so near-misses (`%24xmid`, `$mid`, `%24.mi`) come up too.
  '$', '%24', '%24.', '$.', 'x', 'mid', 'mi', 'cid', 'uid', 'to', 'ct', 'ce', 'on', 'exp', 'sub', 'ifid', 'ctime',
];

function randomBag(next: () => number): string {
  const n = Math.floor(next() * 14);
  let bag = '';
  for (let i = 0; i < n; i++) bag += PIECES[Math.floor(next() * PIECES.length)]!;
  if (next() < 0.2) bag += '/';
  return bag;
}

function outcome(parse: (bag: string) => ParsedBag, bag: string): unknown {
  try {
    const r = parse(bag);
    // Entries, not the objects: the order of application properties is part of the contract.
    return { system: Object.entries(r.system), properties: Object.entries(r.properties) };
  } catch {
    return 'refused';
  }
}

test('parseDeviceBag gives the reference decoder\'s result (or refusal) on seeded random bags', () => {
  const seed = Number(process.env.PROPERTY_BAG_DIFF_SEED ?? Date.now() % 1_000_000);
  const next = seededRandom(seed);
  let refused = 0;
  for (let i = 0; i < 100_000; i++) {
    const bag = randomBag(next);
    const expected = outcome(referenceParse, bag);
    if (expected === 'refused') refused++;
    assert.deepEqual(outcome(parseDeviceBag, bag), expected, `seed ${seed}, case ${i}: bag ${JSON.stringify(bag)}`);
  }
  // The generator must exercise both paths, or the comparison proves little.
  assert.ok(refused > 2000 && refused < 90_000, `seed ${seed}: ${refused} refusals`);
});

test('a refusal is ArgumentInvalid, also for a bad escape after ASCII ones and in a system key\'s value', () => {
  for (const bag of ['k=%2F%E0%A4%A', '%24.mid=%zz', '%24.ct=application%2Fjson%', 'a%2=b', '%ED%A0%80=x']) {
    assert.throws(() => parseDeviceBag(bag), { code: 'ArgumentInvalid' }, bag);
  }
});

test('the SDK\'s telemetry bag: system keys in both spellings, ASCII escapes and UTF-8 decoded', () => {
  const parsed = parseDeviceBag('%24.mid=dev.1&$.ct=application%2Fjson&%24.ce=utf-8&sentAt=17&gr%C3%BC%C3%9Fe=%E2%82%AC%20%2f');
  assert.deepEqual(parsed.system, { messageId: 'dev.1', contentType: 'application/json', contentEncoding: 'utf-8' });
  assert.deepEqual(Object.entries(parsed.properties), [['sentAt', '17'], ['grüße', '€ /']]);
});

test('many pairs without "=" then one with it: empty values, then the value (the "=" search runs ahead of the pairs)', () => {
  const bag = `${'a&'.repeat(30_000)}k=v`;
  assert.deepEqual(parseDeviceBag(bag).properties, { a: '', k: 'v' });
});
