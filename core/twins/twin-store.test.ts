import { migrate } from '../store/migrate.ts';
import { PgliteStore } from '../store/pglite-store.ts';
import { twinStoreSuite } from './twin-store-suite.ts';

twinStoreSuite('PGlite', {
  async open() {
    const store = await PgliteStore.open();
    await migrate(store);
    return store;
  },
  close: (store) => store.close(),
});
