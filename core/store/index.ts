export type { Queryable, Row, Store, StoreKind, Transaction } from './types.ts';
export { PgStore, type PgStoreOptions } from './pg-store.ts';
export { PgliteStore, type PgliteStoreOptions } from './pglite-store.ts';
export { migrate, loadMigrations, checksumOf, MIGRATIONS_DIR, type Migration, type MigrateResult } from './migrate.ts';
export { openStore, type OpenStoreOptions } from './open-store.ts';
export { isUniqueViolation, sqlStateOf, isConnectionError, redactUrl } from './store-errors.ts';
