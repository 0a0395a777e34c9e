import { DataSource, type DataSourceOptions } from 'typeorm';
import { ANALYTICS_ENTITIES } from '../entities';
import { ANALYTICS_MIGRATIONS_TABLE, loadAnalyticsMigrations } from './analytics-migrations';

/** Where the analytics tables live: a server URL, or the socket of the embedded database. */
export type AnalyticsConnectionTarget =
  { url: string } | { host: string; port: number; user: string; database: string };

/** Name of the module's TypeORM connection; distinct from the host app's default connection. */
export const ANALYTICS_DATA_SOURCE_NAME = 'monitoring';

/**
 * Options of the analytics `DataSource`. `synchronize` stays off: the schema comes only from the
 * migrations. `extra` tunes `pg.Pool`: TCP keep-alive so a silently dropped connection is
 * noticed, and a bounded connect time so an unreachable server fails fast into the retry loop.
 */
export function analyticsDataSourceOptions(
  target: AnalyticsConnectionTarget,
  poolSize: number,
): DataSourceOptions {
  const connection =
    'url' in target
      ? { url: target.url }
      : { host: target.host, port: target.port, username: target.user, database: target.database };
  return {
    type: 'postgres',
    name: ANALYTICS_DATA_SOURCE_NAME,
    ...connection,
    entities: [...ANALYTICS_ENTITIES],
    migrations: loadAnalyticsMigrations(),
    migrationsTableName: ANALYTICS_MIGRATIONS_TABLE,
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    // The schema uses gen_random_uuid() (built in): no extension to install.
    installExtensions: false,
    logging: false,
    applicationName: 'monitoring-analytics',
    poolSize,
    connectTimeoutMS: 5_000,
    extra: { keepAlive: true, idleTimeoutMillis: 30_000 },
  };
}

/** Creates (without connecting) the analytics `DataSource` for a target. */
export function createAnalyticsDataSource(
  target: AnalyticsConnectionTarget,
  poolSize: number,
): DataSource {
  return new DataSource(analyticsDataSourceOptions(target, poolSize));
}
