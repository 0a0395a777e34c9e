import type { DataSource, QueryRunner, ReplicationMode } from 'typeorm';
import { AnalyticsDatabase } from '../../src/monitoring/analytics/database/analytics-database';
import { ANALYTICS_MIGRATIONS_TABLE, loadAnalyticsMigrations } from '../../src/monitoring/analytics/database/analytics-migrations';
import {
  describeEachDatabase,
  provisionDatabase,
  type ProvisionedDatabase,
} from '../support/analytics-databases';

const TABLES = [
  'agent_executions',
  'agent_executions_hourly',
  'analytics_aggregation_state',
  'llm_usage',
  'llm_usage_hourly',
  'llm_usage_hourly_by_model',
  'llm_usage_hourly_by_principal',
  'tool_calls',
  'workflow_analytics',
  'workflow_analytics_hourly',
];

/** Makes a query runner send its queries one after the other, whoever calls it concurrently. */
function oneQueryAtATime(runner: QueryRunner): QueryRunner {
  const query = runner.query.bind(runner) as (...args: unknown[]) => Promise<unknown>;
  let previous: Promise<unknown> = Promise.resolve();
  runner.query = ((...args: unknown[]) => {
    const next = previous.then(() => query(...args));
    previous = next.catch(() => undefined);
    return next;
  }) as QueryRunner['query'];
  return runner;
}

/**
 * The statements a generated migration would hold (TypeORM's schema builder, which compares the
 * entities with the catalogue). TypeORM 0.3 reads the type of every array column with its own
 * query, all at once on the builder's single connection: pg queues them but deprecates doing so
 * (and pg 9 refuses). The builder runs here on a query runner that sends them one at a time.
 */
async function pendingSchemaChanges(source: DataSource): Promise<string[]> {
  const createQueryRunner = source.createQueryRunner;
  source.createQueryRunner = (mode?: ReplicationMode) =>
    oneQueryAtATime(createQueryRunner.call(source, mode));
  try {
    const log = await source.driver.createSchemaBuilder().log();
    return log.upQueries.map((q) => q.query);
  } finally {
    source.createQueryRunner = createQueryRunner;
  }
}

describeEachDatabase('analytics migrations', (kind) => {
  let provisioned: ProvisionedDatabase;
  let database: AnalyticsDatabase;

  beforeAll(async () => {
    provisioned = await provisionDatabase(kind);
    database = new AnalyticsDatabase({ ...provisioned, runMigrations: true, poolSize: 2 });
    await database.open();
  });

  afterAll(async () => {
    await database?.close();
    await provisioned?.cleanup();
  });

  it('create exactly the tables of the entities', async () => {
    const rows = await database.dataSource!.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(rows.map((r: { table_name: string }) => r.table_name)).toEqual(
      [...TABLES, ANALYTICS_MIGRATIONS_TABLE].sort(),
    );
  });

  it('agree with the entities: a generated migration would be empty', async () => {
    expect(await pendingSchemaChanges(database.dataSource!)).toEqual([]);
  });

  it('are recorded in their own table, so the host app`s migrations table is untouched', async () => {
    const applied = await database.dataSource!.query(
      `SELECT name FROM "${ANALYTICS_MIGRATIONS_TABLE}" ORDER BY id`,
    );
    expect(applied).toEqual([
      { name: 'AnalyticsSchema1796000000000' },
      { name: 'AnalyticsModelRollup1796000000001' },
      { name: 'AnalyticsPrincipalRollup1796000000002' },
      { name: 'AnalyticsUsageMissing1796000000003' },
      { name: 'AnalyticsTraces1796000000010' },
    ]);
    expect(await database.dataSource!.showMigrations()).toBe(false);
  });

  it('revert to an empty schema and apply again', async () => {
    const source = database.dataSource!;
    for (let i = 0; i < loadAnalyticsMigrations().length; i++) await source.undoLastMigration({ transaction: 'each' });
    const left = await source.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> $1`,
      [ANALYTICS_MIGRATIONS_TABLE],
    );
    expect(left).toEqual([]);
    await source.runMigrations({ transaction: 'each' });
    expect(await pendingSchemaChanges(source)).toEqual([]);
  });

  it('reject a workflow status outside completed, failed, timeout', async () => {
    await expect(
      database.dataSource!.query(
        `INSERT INTO workflow_analytics (workflow_id, run_id, status, started_at, finished_at) VALUES ('w', 'r', 'running', now(), now())`,
      ),
    ).rejects.toThrow(/CHK_workflow_analytics_status/);
  });
});
