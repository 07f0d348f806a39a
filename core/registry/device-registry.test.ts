/** The registry suite on PGlite (the embedded store), one migrated store in a temp dir for the whole file. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/open-store.ts';
import { registryContractSuite } from './registry-suite.ts';

let dataDir: string | undefined;

registryContractSuite('PGlite', {
  async open() {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-registry-'));
    return openStore({ dataDir });
  },
  async close(store) {
    await store.close();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  },
});
