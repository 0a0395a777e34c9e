import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource, type MigrationInterface } from 'typeorm';

const MIGRATIONS_DIR = join(__dirname, '..', '..', '..', 'migrations');

type MigrationClass = new () => MigrationInterface;

/** Every migration class of `migrations/` (the same files the module runs in production). */
export function migrationClasses(): MigrationClass[] {
  const classes: MigrationClass[] = [];
  for (const file of readdirSync(MIGRATIONS_DIR).sort()) {
    if (!/\.ts$/.test(file) || file.endsWith('.d.ts')) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(join(MIGRATIONS_DIR, file)) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      if (typeof value === 'function' && typeof (value.prototype as MigrationInterface)?.up === 'function') {
        classes.push(value as MigrationClass);
      }
    }
  }
  return classes;
}

/** A migrated database on a real PostgreSQL server. */
export async function createPostgresDataSource(url: string, poolSize = 4): Promise<DataSource> {
  const source = new DataSource({
    type: 'postgres',
    url,
    migrations: migrationClasses(),
    migrationsTableName: 'analytics_migrations',
    synchronize: false,
    logging: false,
    poolSize,
  });
  await source.initialize();
  await source.runMigrations({ transaction: 'each' });
  return source;
}
