import { SchedulerRegistry } from '@nestjs/schedule';
import request from 'supertest';
import { AGGREGATION_INTERVAL_NAME } from '../../src/monitoring/analytics/aggregation/hourly-aggregator.service';
import { AnalyticsDatabase } from '../../src/monitoring/analytics/database/analytics-database';
import { AnalyticsWriteQueue } from '../../src/monitoring/analytics/ingest/analytics-write-queue';
import { EventFanOut } from '../../src/monitoring';
import { freshPgliteDir } from '../support/pglite-template';
import { createAnalyticsApp, ReportWorkflow, waitFor } from '../support/analytics-app';

describe('MonitoringModule analytics wiring', () => {
  it('with analyticsEnabled=false opens no database, registers no sink and no analytics metric', async () => {
    const app = await createAnalyticsApp({ analyticsEnabled: false });
    try {
      expect(app.get(AnalyticsDatabase)).toBeNull();
      expect(app.get(AnalyticsWriteQueue)).toBeNull();
      expect(app.get(EventFanOut).sinkNames).not.toContain('analytics');
      await app.get(ReportWorkflow).run({ runId: 'r' });
      const text = (await request(app.getHttpServer()).get('/metrics').expect(200)).text;
      expect(text).not.toContain('magure_analytics_');
      expect(text).not.toContain('magure_db_pool_connections');
    } finally {
      await app.close();
    }
  });

  it('uses an in-memory embedded database with embeddedDatabaseDir=":memory:" and schedules the aggregator', async () => {
    const app = await createAnalyticsApp({
      embeddedDatabaseDir: ':memory:',
      analyticsFlushIntervalMs: 20,
      metricsPrefix: 'shop_',
    });
    try {
      const db = app.get(AnalyticsDatabase);
      expect(db.embeddedMode).toBe(true);
      expect(db.description).toBe('embedded PGlite (:memory:)');
      expect(app.get(EventFanOut).sinkNames).toContain('analytics');
      expect(app.get(SchedulerRegistry).getIntervals()).toContain(AGGREGATION_INTERVAL_NAME);
      await app.get(ReportWorkflow).run({ runId: 'mem-1' });
      await waitFor('rows', async () =>
        app.get(AnalyticsWriteQueue).depth === 0 ? true : undefined,
      );
      const rows = await db.dataSource!.query(
        `SELECT count(*)::int AS n FROM llm_usage WHERE workflow_run_id = 'mem-1'`,
      );
      expect(rows).toEqual([{ n: 2 }]);
      const text = (await request(app.getHttpServer()).get('/metrics').expect(200)).text;
      expect(text).toContain('shop_analytics_rows_written_total{table="llm_usage"} 2');
      expect(text).toContain('shop_db_pool_connections{state="total"} 1');
    } finally {
      await app.close();
    }
    expect(app.get(SchedulerRegistry).getIntervals()).not.toContain(AGGREGATION_INTERVAL_NAME);
  });

  it('with analyticsRunMigrations=false on an unmigrated database keeps serving and keeps the rows queued', async () => {
    const { dir, remove } = await freshPgliteDir();
    const app = await createAnalyticsApp({
      embeddedDatabaseDir: dir,
      analyticsRunMigrations: false,
      analyticsFlushIntervalMs: 20,
      analyticsShutdownTimeoutMs: 300,
    });
    try {
      await request(app.getHttpServer()).get('/work/chat').expect(200);
      const queue = app.get(AnalyticsWriteQueue);
      await waitFor('a failed write', async () =>
        queue.consecutiveFailures > 0 ? true : undefined,
      );
      expect(queue.depth).toBe(1);
    } finally {
      await app.close();
      await remove();
    }
  });
});
