import { IN_MEMORY_DATABASE } from '../../src/monitoring/analytics/database/embedded-postgres';
import { freshPgliteDir } from './pglite-template';
import { postgresUnavailableReason, startPostgres } from './postgres-server';

/** The two databases every analytics database test runs on. */
export type DatabaseKind = 'pglite' | 'postgresql';

/** Connection settings of a provisioned test database (the module's option names). */
export interface ProvisionedDatabase {
  kind: DatabaseKind;
  /** Set for the real server; undefined selects the embedded database. */
  databaseUrl?: string;
  embeddedDatabaseDir: string;
  cleanup(): Promise<void>;
}

/** A fresh, empty database of the given kind. */
export async function provisionDatabase(kind: DatabaseKind): Promise<ProvisionedDatabase> {
  if (kind === 'pglite') {
    const { dir, remove } = await freshPgliteDir();
    return { kind, embeddedDatabaseDir: dir, cleanup: remove };
  }
  const server = await startPostgres();
  return {
    kind,
    databaseUrl: server.url,
    embeddedDatabaseDir: IN_MEMORY_DATABASE,
    cleanup: () => server.stop(),
  };
}

/**
 * Declares the same tests for PGlite (always) and for a real PostgreSQL server (skipped with a
 * printed reason when none can be started, a failure under CI=true).
 */
export function describeEachDatabase(name: string, body: (kind: DatabaseKind) => void): void {
  describe(`${name} [PGlite]`, () => body('pglite'));
  describeWithPostgres(`${name} [PostgreSQL]`, () => body('postgresql'));
}

/**
 * `describe` for tests that need a real PostgreSQL. When none can be provided the block is skipped
 * with a printed reason, except under CI=true where the missing server is a failure.
 */
export function describeWithPostgres(name: string, body: () => void): void {
  const reason = postgresUnavailableReason();
  if (reason && process.env.CI !== 'true') {
    // eslint-disable-next-line no-console
    console.warn(`skipping "${name}": ${reason}`);
    describe.skip(name, body);
    return;
  }
  describe(name, () => {
    if (reason) {
      it('has a PostgreSQL server (required when CI=true)', () => {
        throw new Error(reason);
      });
      return;
    }
    body();
  });
}
