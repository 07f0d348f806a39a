import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHistogram } from '../simulator/histogram.ts';
import { messageId } from '../simulator/target.ts';
import { ArrivalTracker } from './arrivals.ts';

test('counts first arrivals and redeliveries per message id of its own run only', () => {
  const t = new ArrivalTracker('ab12');
  const sent = 1_700_000_000_000;
  for (let seq = 1; seq <= 100; seq++) assert.ok(t.record(messageId('ab12', 'bench-ab12-000001', seq), sent, sent + 2, sent + 5));
  // Sequence numbers far apart grow the bitset; device ids with dots still parse (the seq is after the last dot).
  assert.ok(t.record(messageId('ab12', 'dev.with.dots', 70_000), sent, sent, sent + 1));
  assert.ok(t.record(messageId('ab12', 'bench-ab12-000001', 7), sent, sent, sent + 9)); // redelivery
  assert.equal(t.record(messageId('ffff', 'bench-ab12-000001', 1), sent, sent, sent), false, 'another run');
  assert.equal(t.record('ab12.nodot', sent, sent, sent), false, 'no sequence');
  assert.equal(t.owns(null), false);
  const d = t.takeDelta();
  assert.equal(d.unique, 101);
  assert.equal(d.duplicates, 1);
  assert.equal(d.untimed, 0);
  const arrival = decodeHistogram(d.arrival!);
  assert.equal(arrival.totalCount, 101, 'a redelivery is not timed twice');
  assert.ok(Math.abs(arrival.getValueAtPercentile(50) - 5000) <= 5, 'µs: 5 ms');
  assert.equal(decodeHistogram(d.enqueue!).totalCount, 101);
  // The delta resets; the totals do not.
  assert.deepEqual(d.byAuth, { unknown: 101 });
  assert.deepEqual(t.takeDelta(), { unique: 0, duplicates: 0, untimed: 0, byAuth: {} });
  assert.equal(t.uniqueTotal, 101);
  assert.equal(t.duplicatesTotal, 1);
});

test('a message without a send time is counted, not timed', () => {
  const t = new ArrivalTracker('cd');
  t.record('cd.d.1', undefined, 5, 10);
  const d = t.takeDelta();
  assert.equal(d.unique, 1);
  assert.equal(d.untimed, 1);
  assert.equal(d.arrival, undefined);
});

test('first arrivals are tallied by the auth method type the hub stamped', () => {
  const t = new ArrivalTracker('ef');
  const sas = JSON.stringify({ scope: 'device', type: 'sas', issuer: 'iothub', acceptingIpFilterRule: null });
  const x509 = JSON.stringify({ scope: 'device', type: 'x509Certificate', issuer: 'self', acceptingIpFilterRule: null });
  t.record('ef.a.1', 1, 1, 2, sas);
  t.record('ef.a.2', 1, 1, 2, sas);
  t.record('ef.a.2', 1, 1, 2, sas); // duplicate: not tallied again
  t.record('ef.b.1', 1, 1, 2, x509);
  t.record('ef.c.1', 1, 1, 2, 'not json');
  assert.deepEqual(t.takeDelta().byAuth, { sas: 2, x509Certificate: 1, unknown: 1 });
});
