/**
 * The TwinStore suite on the real PostgreSQL (127.0.0.1:5432, database `tributary`; TRIBUTARY_TEST_DATABASE_URL
 * points it elsewhere), in a fresh schema per run that is dropped afterwards. Here the concurrency case runs on a
 * pool of connections, so the row lock is what serializes the writers.
 */
import { randomBytes } from 'node:crypto';
import { migrate } from '../store/migrate.ts';
import { PgStore } from '../store/pg-store.ts';
import { twinStoreSuite } from './twin-store-suite.ts';

const URL_ = process.env.TRIBUTARY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tributary';
// Identifiers cannot be parameters; the name is built from hex only, never from input.
const schema = `tributary_twins_test_${randomBytes(4).toString('hex')}`;

async function admin(script: string): Promise<void> {
  const store = new PgStore({ url: URL_, maxConnections: 1 });
  try {
    await store.exec(script);
  } finally {
    await store.close();
  }
}

twinStoreSuite('PostgreSQL (fresh schema)', {
  async open() {
    await admin(`CREATE SCHEMA ${schema}`);
    const store = new PgStore({ url: URL_, schema, maxConnections: 10 });
    await migrate(store);
    return store;
  },
  async close(store) {
    await store.close();
    await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  },
});
