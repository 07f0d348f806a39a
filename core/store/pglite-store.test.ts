import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStore } from './open-store.ts';
import { PgliteStore } from './pglite-store.ts';
import { storeContractSuite } from './store-suite.ts';

const dirs: string[] = [];

storeContractSuite('PgliteStore (temp dir)', {
  async fresh() {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-pglite-'));
    dirs.push(dir);
    return PgliteStore.open({ directory: dir });
  },
  async cleanup() {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  },
});

test('openStore without a database URL keeps a migrated PGlite database in <dataDir>/store across restarts', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-data-'));
  try {
    const first = await openStore({ dataDir });
    assert.equal(first.kind, 'pglite');
    await first.query(`INSERT INTO shared_access_policies (key_name, primary_key, secondary_key, rights) VALUES ($1, $2, $3, $4)`,
      ['service', 'a', 'b', ['ServiceConnect']]);
    await first.close();

    const second = await openStore({ dataDir });
    try {
      assert.deepEqual(await second.query('SELECT key_name, rights FROM shared_access_policies'), [{ key_name: 'service', rights: ['ServiceConnect'] }]);
    } finally {
      await second.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
