import type { DataSource } from 'typeorm';
import { resolveMonitoringOptions } from '../../monitoring-options.resolver';
import { createAnalyticsDataSource } from './analytics-data-source.factory';
import { EmbeddedPostgres } from './embedded-postgres';

/**
 * The analytics `DataSource` for the TypeORM CLI, configured from the same environment variables
 * as the module (`DATABASE_URL`, else the embedded database in `PGLITE_DATA_DIR`). For the
 * embedded database the server is started here and stopped when the CLI destroys the data source;
 * the app must not be running on the same data directory (its lock file refuses it).
 */
export async function createCliDataSource(
  env: Record<string, string | undefined> = process.env,
): Promise<DataSource> {
  const options = resolveMonitoringOptions({}, env);
  if (options.databaseUrl !== undefined)
    return createAnalyticsDataSource({ url: options.databaseUrl }, 1);
  const embedded = new EmbeddedPostgres(options.embeddedDatabaseDir);
  await embedded.start();
  const source = createAnalyticsDataSource(embedded.connection, 1);
  const destroy = source.destroy.bind(source);
  source.destroy = async () => {
    try {
      if (source.isInitialized) await destroy();
    } finally {
      await embedded.stop();
    }
  };
  return source;
}
