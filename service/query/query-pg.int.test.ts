/**
 * The twin query language against a real PostgreSQL server (fresh schema, dropped afterwards): the same example
 * table as query.test.ts, so both stores answer every query alike (collation, int8 and numeric handling, text[] and
 * jsonb parameters through node-postgres).
 */
import { randomBytes } from 'node:crypto';
import { migrate, PgStore } from '../../core/store/index.ts';
import { services } from '../../test/support/services.ts';
import { twinQuerySuite } from './query-suite.ts';

twinQuerySuite('twin queries on PostgreSQL', async () => {
  // Identifiers cannot be parameters; the schema name is hex from randomBytes, never input.
  const schema = `tributary_query_${randomBytes(4).toString('hex')}`;
  const admin = new PgStore({ url: services.databaseUrl, maxConnections: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const store = new PgStore({ url: services.databaseUrl, schema });
  await migrate(store);
  return {
    store,
    async close() {
      await store.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
});
