import { createPostgresDataSource } from './support/analytics-schema';
import { defineAnalyticsApiSuite } from './support/analytics-api.suite';
import { requirePostgres } from './support/postgres-server';

// Real PostgreSQL: TEST_DATABASE_URL (a fresh database on it) or a server started for this file.
// With CI=true a missing server fails the suite instead of skipping it.
defineAnalyticsApiSuite('PostgreSQL', async () => {
  const pg = await requirePostgres();
  if ('skip' in pg) return pg;
  const source = await createPostgresDataSource(pg.url);
  return {
    runner: source,
    close: async () => {
      await source.destroy();
      await pg.stop();
    },
  };
});
