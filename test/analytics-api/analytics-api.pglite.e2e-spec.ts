import { createPostgresDataSource } from './support/analytics-schema';
import { defineAnalyticsApiSuite } from './support/analytics-api.suite';
import { startPgliteServer } from './support/pglite-server';

// PGlite (PostgreSQL compiled to WebAssembly, in memory), reached over the wire protocol as the
// embedded analytics database is: one connection.
defineAnalyticsApiSuite('PGlite', async () => {
  const server = await startPgliteServer();
  const source = await createPostgresDataSource(server.url, 1);
  return {
    runner: source,
    close: async () => {
      await source.destroy();
      await server.stop();
    },
  };
});
