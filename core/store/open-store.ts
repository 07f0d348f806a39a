import { join } from 'node:path';
import { componentLogger } from '../logging/logger.ts';
import { migrate } from './migrate.ts';
import { PgStore } from './pg-store.ts';
import { PgliteStore } from './pglite-store.ts';
import { redactUrl } from './store-errors.ts';
import type { Store } from './types.ts';

const log = componentLogger('store');

export interface OpenStoreOptions {
  /** The hub's data directory; the embedded store lives in `<dataDir>/store`. */
  dataDir: string;
  /** `database.url` (TRIBUTARY_DATABASE_URL): PostgreSQL when set, PGlite otherwise. */
  databaseUrl?: string | undefined;
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
}

/**
 * Opens the store the configuration asks for and brings its schema up to date: PostgreSQL when a database URL is
 * configured (production, several nodes), PGlite under the data dir otherwise (one node, nothing to install).
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const store: Store = options.databaseUrl
    ? new PgStore({ url: options.databaseUrl })
    : await PgliteStore.open({ directory: join(options.dataDir, 'store') });
  if (options.migrate !== false) {
    try {
      const result = await migrate(store);
      log.info(
        {
          store: store.kind,
          where: options.databaseUrl ? redactUrl(options.databaseUrl) : join(options.dataDir, 'store'),
          schemaVersion: result.version,
          applied: result.applied.map((m) => m.file),
        },
        'store ready',
      );
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
  }
  return store;
}
