import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { GENERATE_LLM_USAGE_SQL } from '../../bench/analytics-data';
import { HourlyAggregator } from '../../src/monitoring/analytics/aggregation/hourly-aggregator.service';
import { AnalyticsMetrics } from '../../src/monitoring/analytics/analytics.metrics';
import { AnalyticsDatabase } from '../../src/monitoring/analytics/database/analytics-database';
import { PgBatchWriter } from '../../src/monitoring/analytics/ingest/analytics-batch-writer';
import { mapEventToRow } from '../../src/monitoring/analytics/ingest/analytics-row.mapper';
import { describeWithPostgres } from '../support/analytics-databases';
import { startPostgres, type TestPostgres } from '../support/postgres-server';
import { actualRollups, expectedRollups } from '../support/rollup-expectations';

const HOUR = 3_600_000;

describeWithPostgres('monthly partitioning of llm_usage (docs/analytics-partitioning.sql)', () => {
  let pg: TestPostgres;
  let db: AnalyticsDatabase;

  beforeAll(async () => {
    pg = await startPostgres();
    db = new AnalyticsDatabase({
      databaseUrl: pg.url,
      embeddedDatabaseDir: ':memory:',
      runMigrations: true,
      poolSize: 2,
    });
    await db.open();
  });

  afterAll(async () => {
    await db?.close();
    await pg?.stop();
  });

  it('keeps the history, and ingest (with idempotent retries) and aggregation work on the partitioned table', async () => {
    const ds = db.dataSource!;
    const h0 = Math.floor(Date.now() / HOUR) * HOUR;
    await ds.query(GENERATE_LLM_USAGE_SQL, [
      new Date(h0 - 70 * 24 * HOUR),
      new Date(h0 - 2 * HOUR),
      3_000,
      1,
    ]);

    await ds.query(
      await readFile(join(__dirname, '../../docs/analytics-partitioning.sql'), 'utf8'),
    );
    const [{ kind }] = await ds.query(
      `SELECT relkind AS kind FROM pg_class WHERE relname = 'llm_usage'`,
    );
    expect(kind).toBe('p');
    const partitions = await ds.query(
      `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'llm_usage'::regclass`,
    );
    expect(partitions[0].n).toBeGreaterThanOrEqual(7);
    expect(await ds.query(`SELECT count(*)::int AS n FROM llm_usage`)).toEqual([{ n: 3_000 }]);

    const writer = new PgBatchWriter(db);
    const rows = Array.from(
      { length: 10 },
      (_, i) =>
        mapEventToRow({
          kind: 'llm_call',
          startedAt: new Date(),
          durationMs: 100 + i,
          context: { agentId: 'partitioned-agent' },
          success: true,
          provider: 'openai',
          model: 'gpt-4o-mini',
          usage: {
            inputTokens: 100,
            outputTokens: 0,
            cachedInputTokens: 0,
            cacheWriteInputTokens: 0,
            reasoningTokens: 0,
          },
          costNanoCents: 1_500_000,
          streamed: false,
        })!.row,
    );
    expect(await writer.write('llm_usage', rows)).toEqual({ inserted: 10, alreadyStored: 0 });
    // A retry of the committed batch (COPY meets the stored ids, the INSERT fallback skips them).
    expect(await writer.write('llm_usage', rows)).toEqual({ inserted: 0, alreadyStored: 10 });

    const aggregator = new HourlyAggregator(
      db,
      { intervalSeconds: 3600, lookbackHours: 3 },
      new AnalyticsMetrics(new Registry(), 'm_'),
    );
    const result = await aggregator.run();
    expect(result.status).toBe('completed');
    const from = new Date(h0 - 71 * 24 * HOUR);
    const to = new Date(h0);
    const expected = await expectedRollups(ds, from, to);
    const actual = await actualRollups(ds, from, to);
    expect(actual.llm_usage_hourly!.size).toBeGreaterThan(0);
    expect(actual.llm_usage_hourly).toEqual(expected.llm_usage_hourly);
    expect(actual.llm_usage_hourly_by_model).toEqual(expected.llm_usage_hourly_by_model);
    expect(actual.llm_usage_hourly_by_principal).toEqual(expected.llm_usage_hourly_by_principal);
  });
});
