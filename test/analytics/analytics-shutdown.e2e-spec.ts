import { AnalyticsDatabase } from '../../src/monitoring/analytics/database/analytics-database';
import { AnalyticsWriteQueue } from '../../src/monitoring/analytics/ingest/analytics-write-queue';
import {
  describeEachDatabase,
  provisionDatabase,
  type ProvisionedDatabase,
} from '../support/analytics-databases';
import { BulkAgent, createAnalyticsApp } from '../support/analytics-app';

describeEachDatabase('analytics at shutdown', (kind) => {
  let provisioned: ProvisionedDatabase;

  beforeAll(async () => {
    provisioned = await provisionDatabase(kind);
  });

  afterAll(async () => {
    await provisioned?.cleanup();
  });

  it('drains the queue before the connection closes: every event is in the table after app.close()', async () => {
    // No flush would happen for a minute and no batch fills: only the shutdown drain can write.
    const app = await createAnalyticsApp({
      databaseUrl: provisioned.databaseUrl,
      embeddedDatabaseDir: provisioned.embeddedDatabaseDir,
      analyticsFlushIntervalMs: 60_000,
      analyticsBatchSize: 50_000,
      analyticsShutdownTimeoutMs: 30_000,
    });
    await app.get(BulkAgent).execute(2_500);
    expect(app.get(AnalyticsWriteQueue).depth).toBe(2_501);
    await app.close();

    // A new connection (for PGlite: the data directory opened again, so the rows are on disk).
    const reopened = new AnalyticsDatabase({ ...provisioned, runMigrations: false, poolSize: 1 });
    await reopened.open();
    try {
      const [llm] = await reopened.dataSource!.query(
        `SELECT count(*)::int AS n, sum(cost_cents)::text AS cents FROM llm_usage`,
      );
      expect(llm).toEqual({ n: 2_500, cents: '3.750000000' });
      const [agents] = await reopened.dataSource!.query(
        `SELECT count(*)::int AS n FROM agent_executions`,
      );
      expect(agents).toEqual({ n: 1 });
    } finally {
      await reopened.close();
    }
  });

  if (kind === 'pglite') {
    it('refuses a second process-level opener of the same embedded data directory while one is open', async () => {
      const first = new AnalyticsDatabase({ ...provisioned, runMigrations: false, poolSize: 1 });
      await first.open();
      try {
        const second = new AnalyticsDatabase({ ...provisioned, runMigrations: false, poolSize: 1 });
        await expect(second.open()).rejects.toThrow(/already open in this process/);
        await second.close();
      } finally {
        await first.close();
      }
    });
  }
});
