import { existsSync, readdirSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { MigrationInterface } from 'typeorm';

/** Name of the table recording applied analytics migrations (kept apart from the host app's own). */
export const ANALYTICS_MIGRATIONS_TABLE = 'analytics_migrations';

/** Migration file names: `<timestamp>-<Name>.ts|js`. */
const MIGRATION_FILE = /^\d{13}-[A-Za-z0-9]+\.(ts|js)$/;

/**
 * Directory holding the migration classes. They live in `migrations/` at the top of the package,
 * compiled to `dist/migrations/`; from this file that is three levels up in `dist/`, four in the
 * sources (tests run them as TypeScript).
 */
export function analyticsMigrationsDir(): string {
  const candidates = [
    resolve(__dirname, '../../../migrations'),
    resolve(__dirname, '../../../../migrations'),
  ];
  const found = candidates.find(
    (dir) => existsSync(dir) && readdirSync(dir).some((f) => MIGRATION_FILE.test(f)),
  );
  if (!found)
    throw new Error(`analytics migrations not found (looked in ${candidates.join(', ')})`);
  return found;
}

type MigrationClass = new () => MigrationInterface;

/**
 * Loads the migration classes, ordered by timestamp. Loaded explicitly (not through a TypeORM
 * glob) so that only files of the running flavour count: `.js` next to compiled code, `.ts` when
 * running from sources.
 */
export function loadAnalyticsMigrations(dir = analyticsMigrationsDir()): MigrationClass[] {
  const runningCompiled = extname(__filename) === '.js';
  const wanted = runningCompiled ? '.js' : '.ts';
  let files = readdirSync(dir).filter((f) => MIGRATION_FILE.test(f) && extname(f) === wanted);
  // Compiled code next to TypeScript-only migrations (e.g. ts-node): accept the other flavour.
  if (files.length === 0)
    files = readdirSync(dir).filter((f) => MIGRATION_FILE.test(f) && !f.endsWith('.d.ts'));
  files.sort();
  const classes: MigrationClass[] = [];
  for (const file of files) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exported = require(join(dir, file)) as Record<string, unknown>;
    for (const value of Object.values(exported)) {
      if (
        typeof value === 'function' &&
        typeof (value as { prototype?: MigrationInterface }).prototype?.up === 'function'
      ) {
        classes.push(value as MigrationClass);
      }
    }
  }
  return classes;
}
