import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TributaryError } from '../../core/errors/index.ts';
import { DEFAULT_FILE_NAME_FORMAT } from './config.ts';
import { compileFileName, endpointOfTopic } from './file-name.ts';

const T = Date.UTC(2026, 0, 2, 3, 4, 59, 999);
const parts = { hub: 'hub-a', partition: 3, time: T, endpoint: 'archive', firstOffset: 42 };

describe('file names', () => {
  it('renders IoT Hub\'s default format in UTC, then -<endpoint>-<first offset, 20 digits><extension>', () => {
    assert.equal(compileFileName(DEFAULT_FILE_NAME_FORMAT, '.avro')(parts), 'hub-a/3/2026/01/02/03/04-archive-00000000000000000042.avro');
  });

  it('accepts the tokens in any order with literal text around them; "" means no extension, as IoT Hub names blobs', () => {
    const name = compileFileName('raw/year={YYYY}/month={MM}/{DD}/{HH}_{mm}/{iothub}.p{partition}', '')(parts);
    assert.equal(name, 'raw/year=2026/month=01/02/03_04/hub-a.p3-archive-00000000000000000042');
  });

  it('pads single-digit months, days, hours and minutes and takes the UTC date, not the local one', () => {
    const name = compileFileName(DEFAULT_FILE_NAME_FORMAT, '.json')({ ...parts, time: Date.UTC(2025, 11, 31, 23, 5, 0), firstOffset: 12345678901234 });
    assert.equal(name, 'hub-a/3/2025/12/31/23/05-archive-00000012345678901234.json');
  });

  it('different first offsets give different names, the same parts the same name', () => {
    const name = compileFileName(DEFAULT_FILE_NAME_FORMAT, '.avro');
    assert.equal(name(parts), name({ ...parts }));
    assert.notEqual(name(parts), name({ ...parts, firstOffset: 43 }));
    assert.notEqual(name(parts), name({ ...parts, endpoint: 'other' }));
  });

  it('names come out in offset order when sorted as text (what a bucket listing returns)', () => {
    const name = compileFileName(DEFAULT_FILE_NAME_FORMAT, '.avro');
    const offsets = [9, 10, 99, 100, 1_000_000, 12];
    const sorted = offsets.map((firstOffset) => ({ firstOffset, name: name({ ...parts, firstOffset }) })).sort((a, b) => (a.name < b.name ? -1 : 1));
    assert.deepEqual(sorted.map((s) => s.firstOffset), [9, 10, 12, 99, 100, 1_000_000]);
  });

  const rejects = (format: string, pattern: RegExp) => {
    assert.throws(() => compileFileName(format, '.avro'), (err: unknown) => err instanceof TributaryError && err.code === 'ConfigInvalid' && pattern.test(err.message));
  };

  it('rejects a format that lacks a token, as IoT Hub does', () => {
    rejects('{iothub}/{partition}/{YYYY}/{MM}/{DD}/{HH}', /lacks \{mm\}/);
    rejects('{iothub}/{YYYY}/{MM}/{DD}', /lacks \{partition\}, \{HH\}, \{mm\}/);
  });

  it('rejects unknown tokens, unsafe text and path tricks', () => {
    rejects('{iothub}/{partition}/{YYYY}/{MM}/{DD}/{HH}/{mm}/{ss}', /unknown token \{ss\}/);
    rejects('{iothub}/{partition}/{YYYY}/{MM}/{DD}/{HH}/{mm', /without "}"/);
    rejects('../{iothub}/{partition}/{YYYY}/{MM}/{DD}/{HH}/{mm}', /"\.\." path segment/);
    rejects('/{iothub}/{partition}/{YYYY}/{MM}/{DD}/{HH}/{mm}', /start or end/);
    rejects('{iothub}//{partition}/{YYYY}/{MM}/{DD}/{HH}/{mm}', /empty/);
    rejects('{iothub} {partition}/{YYYY}/{MM}/{DD}/{HH}/{mm}', /letters, digits/);
    rejects('{iothub}\\{partition}/{YYYY}/{MM}/{DD}/{HH}/{mm}', /letters, digits/);
  });

  it('endpoint names come from iot.route.<endpoint> topics', () => {
    assert.equal(endpointOfTopic('iot.route.archive'), 'archive');
    assert.equal(endpointOfTopic('custom.topic'), 'custom.topic');
  });
});
