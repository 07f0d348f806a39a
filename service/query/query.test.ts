/**
 * The twin query language against PGlite (the embedded store): the shared example table of query-suite.ts.
 */
import { migrate, PgliteStore } from '../../core/store/index.ts';
import { twinQuerySuite } from './query-suite.ts';

twinQuerySuite('twin queries on PGlite', async () => {
  const store = await PgliteStore.open();
  await migrate(store);
  return { store, close: () => store.close() };
});
