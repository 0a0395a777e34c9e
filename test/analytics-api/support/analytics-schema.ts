import { DataSource } from 'typeorm';
import {
  ANALYTICS_MIGRATIONS_TABLE,
  loadAnalyticsMigrations,
} from '../../../src/monitoring/analytics/database/analytics-migrations';

/** A TypeORM connection to `url` with the module's migrations applied (the schema contract). */
export async function createPostgresDataSource(url: string, poolSize = 4): Promise<DataSource> {
  const source = new DataSource({
    type: 'postgres',
    url,
    migrations: loadAnalyticsMigrations(),
    migrationsTableName: ANALYTICS_MIGRATIONS_TABLE,
    synchronize: false,
    logging: false,
    poolSize,
  });
  await source.initialize();
  await source.runMigrations({ transaction: 'each' });
  return source;
}
