import type { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { Registry } from 'prom-client';
import { isDeepStrictEqual } from 'node:util';
import {
  GENERATE_AGENT_EXECUTIONS_SQL,
  GENERATE_LLM_USAGE_SQL,
  GENERATE_WORKFLOW_ANALYTICS_SQL,
} from '../../bench/analytics-data';
import {
  AGGREGATION_LOCK_KEY,
  AGGREGATION_STATE_NAME,
  HourlyAggregator,
} from '../../src/monitoring/analytics/aggregation/hourly-aggregator.service';
import { AnalyticsMetrics } from '../../src/monitoring/analytics/analytics.metrics';
import { AnalyticsDatabase } from '../../src/monitoring/analytics/database/analytics-database';
import { ANALYTICS_MIGRATIONS_TABLE } from '../../src/monitoring/analytics/database/analytics-migrations';
import { createAnalyticsApp, waitFor } from '../support/analytics-app';
import { startPostgres, type TestPostgres } from '../support/postgres-server';
import { describeWithPostgres } from '../support/analytics-databases';
import { actualRollups, expectedRollups } from '../support/rollup-expectations';

const HOUR = 3_600_000;
const H0 = Math.floor(Date.now() / HOUR) * HOUR;
const at = (h: number) => new Date(H0 + h * HOUR);

async function generate(ds: AnalyticsDatabase, from: Date, to: Date): Promise<void> {
  await ds.dataSource!.query(GENERATE_LLM_USAGE_SQL, [from, to, 6_000, 1]);
  await ds.dataSource!.query(GENERATE_AGENT_EXECUTIONS_SQL, [from, to, 2_000, 1]);
  await ds.dataSource!.query(GENERATE_WORKFLOW_ANALYTICS_SQL, [from, to, 1_000, 1]);
}

async function rollupsMatchRaw(db: AnalyticsDatabase): Promise<boolean> {
  const expected = await expectedRollups(db.dataSource!, at(-40), at(2));
  const actual = await actualRollups(db.dataSource!, at(-40), at(2));
  return isDeepStrictEqual(expected, actual) && expected.llm_usage_hourly!.size > 0;
}

describeWithPostgres('hourly aggregation with several replicas on one database', () => {
  let pg: TestPostgres;

  beforeEach(async () => {
    pg = await startPostgres();
  });

  afterEach(async () => {
    await pg?.stop();
  });

  it('lets exactly one replica work while the other holds the lock, with correct rollups', async () => {
    const a = new AnalyticsDatabase({
      databaseUrl: pg.url,
      embeddedDatabaseDir: ':memory:',
      runMigrations: true,
      poolSize: 2,
    });
    const b = new AnalyticsDatabase({
      databaseUrl: pg.url,
      embeddedDatabaseDir: ':memory:',
      runMigrations: true,
      poolSize: 2,
    });
    await Promise.all([a.open(), b.open()]);
    const blocker = new Client({ connectionString: pg.url });
    await blocker.connect();
    try {
      await generate(a, at(-30), at(-1));
      const registryA = new Registry();
      const registryB = new Registry();
      const replicaA = new HourlyAggregator(
        a,
        { intervalSeconds: 3600, lookbackHours: 3 },
        new AnalyticsMetrics(registryA, 'magure_'),
      );
      const replicaB = new HourlyAggregator(
        b,
        { intervalSeconds: 3600, lookbackHours: 3 },
        new AnalyticsMetrics(registryB, 'magure_'),
      );

      // Hold the progress row so that replica A, once it owns the advisory lock, waits inside its
      // transaction: the two runs then certainly overlap.
      await blocker.query(`INSERT INTO analytics_aggregation_state (name) VALUES ($1)`, [
        AGGREGATION_STATE_NAME,
      ]);
      await blocker.query('BEGIN');
      await blocker.query(`SELECT * FROM analytics_aggregation_state WHERE name = $1 FOR UPDATE`, [
        AGGREGATION_STATE_NAME,
      ]);
      const runA = replicaA.run();
      const key = BigInt(AGGREGATION_LOCK_KEY);
      await waitFor('replica A to hold the advisory lock', async () => {
        const { rows } = await b
          .dataSource!.query(
            `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2`,
            [Number(key >> 32n), Number(key & 0xffffffffn)],
          )
          .then((r: Array<{ n: number }>) => ({ rows: r }));
        return rows[0]!.n === 1 ? true : undefined;
      });
      const resultB = await replicaB.run();
      expect(resultB).toEqual({ status: 'skipped', hoursAggregated: 0, lastClosedHour: null });
      await blocker.query('COMMIT');
      const resultA = await runA;
      expect(resultA.status).toBe('completed');
      expect(resultA.hoursAggregated).toBe(30);

      expect(await rollupsMatchRaw(a)).toBe(true);
      expect(
        await registryB.getSingleMetricAsString('magure_analytics_aggregation_runs_total'),
      ).toContain('{result="skipped"} 1');
      expect(
        await registryA.getSingleMetricAsString('magure_analytics_aggregation_runs_total'),
      ).toContain('{result="completed"} 1');
    } finally {
      await blocker.end();
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('fails the run, and does not crash the app, when its connection is cut mid-transaction', async () => {
    const db = new AnalyticsDatabase({
      databaseUrl: pg.url,
      embeddedDatabaseDir: ':memory:',
      runMigrations: true,
      poolSize: 2,
    });
    await db.open();
    const blocker = new Client({ connectionString: pg.url });
    await blocker.connect();
    try {
      await generate(db, at(-4), at(-1));
      const aggregator = new HourlyAggregator(
        db,
        { intervalSeconds: 3600, lookbackHours: 3 },
        new AnalyticsMetrics(new Registry(), 'magure_'),
      );
      // Hold the lock so the rebuild waits inside its transaction, then end its backend: pg
      // rejects the query and also emits 'error' on the checked-out client (unheard, it would
      // be an uncaught exception).
      await blocker.query('BEGIN');
      await blocker.query('SELECT pg_advisory_xact_lock($1::bigint)', [AGGREGATION_LOCK_KEY]);
      const rebuilding = aggregator.rebuild(at(-4), at(-1));
      // Polled outside the blocker's transaction (pg_stat_activity is a snapshot per transaction).
      const pid = await waitFor('the rebuild to wait for the lock', async () => {
        const rows: { pid: number }[] = await db.dataSource!.query(
          `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%'`,
        );
        return rows[0]?.pid;
      });
      await blocker.query('SELECT pg_terminate_backend($1)', [pid]);
      await expect(rebuilding).rejects.toThrow();
      await blocker.query('ROLLBACK');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await aggregator.run()).status).toBe('completed');
      expect(await rollupsMatchRaw(db)).toBe(true);
    } finally {
      await blocker.end();
      await db.close();
    }
  });

  it('two Nest apps starting together on an empty database migrate once and aggregate correctly', async () => {
    const options = { databaseUrl: pg.url, analyticsFlushIntervalMs: 50 };
    let apps: INestApplication[] = [];
    try {
      apps = await Promise.all([createAnalyticsApp(options), createAnalyticsApp(options)]);
      const [first, second] = apps.map((app) => app.get(AnalyticsDatabase));
      const migrations = await first!.dataSource!.query(
        `SELECT name FROM "${ANALYTICS_MIGRATIONS_TABLE}" ORDER BY id`,
      );
      expect(migrations).toEqual([
        { name: 'AnalyticsSchema1796000000000' },
        { name: 'AnalyticsModelRollup1796000000001' },
        { name: 'AnalyticsPrincipalRollup1796000000002' },
        { name: 'AnalyticsUsageMissing1796000000003' },
        { name: 'AnalyticsTraces1796000000010' },
      ]);

      // Both apps already ran their startup aggregation on the empty tables: rows of the last two
      // closed hours are inside the 3-hour look-back window even if the hour turns meanwhile.
      const hour = Math.floor(Date.now() / HOUR) * HOUR;
      await generate(first!, new Date(hour - 2 * HOUR), new Date(hour - 60_000));
      const results = await Promise.all(apps.map((app) => app.get(HourlyAggregator).run()));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.every((s) => s === 'completed' || s === 'skipped')).toBe(true);
      expect(statuses).toContain('completed');
      expect(await rollupsMatchRaw(second!)).toBe(true);
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
  });
});
