import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TributaryError } from '../../core/errors/index.ts';
import { validateOptions } from '../../core/runtime/validate-options.ts';
import { clickhouseConnector } from './index.ts';

describe('clickhouseConnector config', () => {
  it('needs only the URL; everything else has a default', () => {
    const config = validateOptions('clickhouse', clickhouseConnector.configSchema, { url: 'http://ch:8123' });
    assert.deepEqual(config, { url: 'http://ch:8123', database: 'iot', layout: 'auto', dedupeWindowSeconds: 3600, requestTimeoutMs: 30000, compression: true });
    assert.equal(clickhouseConnector.name, 'clickhouse');
  });

  it('refuses database names that are not plain identifiers, and unknown settings', () => {
    for (const input of [{ url: 'http://ch:8123', database: 'iot; DROP DATABASE x' }, { url: 'http://ch:8123', database: 'a`b' }, { url: 'ftp://ch' }, { url: 'http://ch:8123', tabel: 'x' }]) {
      assert.throws(() => validateOptions('clickhouse', clickhouseConnector.configSchema, input), (err: unknown) => err instanceof TributaryError && err.code === 'ConfigInvalid', JSON.stringify(input));
    }
  });
});
