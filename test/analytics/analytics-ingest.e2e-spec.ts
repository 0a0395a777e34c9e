import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { HourlyAggregator } from '../../src/monitoring/analytics/aggregation/hourly-aggregator.service';
import { AnalyticsDatabase } from '../../src/monitoring/analytics/database/analytics-database';
import { AnalyticsWriteQueue } from '../../src/monitoring/analytics/ingest/analytics-write-queue';
import {
  describeEachDatabase,
  provisionDatabase,
  type ProvisionedDatabase,
} from '../support/analytics-databases';
import { BulkAgent, createAnalyticsApp, ReportWorkflow, waitFor } from '../support/analytics-app';

describeEachDatabase('analytics ingest through a Nest app', (kind) => {
  let provisioned: ProvisionedDatabase;
  let app: INestApplication;
  let db: AnalyticsDatabase;
  const query = (sql: string, params: unknown[] = []) => db.dataSource!.query(sql, params);

  const flushed = () =>
    waitFor('the write queue to empty', async () =>
      app.get(AnalyticsWriteQueue).depth === 0 ? true : undefined,
    );

  beforeAll(async () => {
    provisioned = await provisionDatabase(kind);
    app = await createAnalyticsApp({
      databaseUrl: provisioned.databaseUrl,
      embeddedDatabaseDir: provisioned.embeddedDatabaseDir,
      analyticsFlushIntervalMs: 50,
    });
    db = app.get(AnalyticsDatabase);
  });

  afterAll(async () => {
    await app?.close();
    await provisioned?.cleanup();
  });

  it('connects during startup and writes one row per LLM call, agent execution and workflow run', async () => {
    expect(db.embeddedMode).toBe(kind === 'pglite');
    expect(db.dataSource?.name).toBe('monitoring');
    await app.get(ReportWorkflow).run({ runId: 'run-1' });
    await flushed();

    const llm = await query(
      `SELECT request_id, agent_id, workflow_id, workflow_run_id, provider, model, prompt_tokens, completion_tokens,
              cached_tokens, cache_write_tokens, reasoning_tokens, cost_cents, success, error_type, streamed,
              user_id, tenant_id, attributes FROM llm_usage WHERE workflow_run_id = 'run-1'`,
    );
    const call = {
      request_id: null,
      agent_id: 'research-agent',
      workflow_id: 'daily-report',
      workflow_run_id: 'run-1',
      provider: 'openai',
      model: 'gpt-4o-mini',
      prompt_tokens: 100,
      completion_tokens: 20,
      cached_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      // 100 × 0.015 / 1000 + 20 × 0.06 / 1000 cents
      cost_cents: '0.002700000',
      success: true,
      error_type: null,
      streamed: false,
      user_id: null,
      tenant_id: null,
      attributes: null,
    };
    expect(llm).toEqual([call, call]);

    const agents = await query(
      `SELECT agent_id, agent_type, success, llm_calls_count, tool_calls_count, tokens_used, cost_cents, workflow_id, workflow_run_id
       FROM agent_executions WHERE workflow_run_id = 'run-1'`,
    );
    expect(agents).toEqual([
      {
        agent_id: 'research-agent',
        agent_type: 'rag',
        success: true,
        llm_calls_count: 2,
        tool_calls_count: 0,
        tokens_used: 240,
        cost_cents: '0.005400000',
        workflow_id: 'daily-report',
        workflow_run_id: 'run-1',
      },
    ]);

    const runs = await query(
      `SELECT workflow_id, run_id, status, steps_executed, steps_failed, llm_calls_count, tokens_used, cost_cents,
              finished_at >= started_at AS ordered, duration_ms >= 0 AS timed
       FROM workflow_analytics WHERE run_id = 'run-1'`,
    );
    expect(runs).toEqual([
      {
        workflow_id: 'daily-report',
        run_id: 'run-1',
        status: 'completed',
        steps_executed: 1,
        steps_failed: 0,
        llm_calls_count: 2,
        tokens_used: 240,
        cost_cents: '0.005400000',
        ordered: true,
        timed: true,
      },
    ]);
  });

  it('stores the request id and principal of HTTP requests, and failed unpriced calls with NULL cost', async () => {
    const server = app.getHttpServer();
    await request(server)
      .get('/work/chat')
      .set('x-request-id', 'req-chat-1')
      .set('x-user-id', 'u-7')
      .set('x-tenant-id', 't-3')
      .expect(200);
    await request(server)
      .get('/work/fail')
      .set('x-request-id', 'req-fail-1')
      .set('x-model', 'mystery-model')
      .expect(200);
    await flushed();
    const rows = await query(
      `SELECT request_id, model, prompt_tokens, cost_cents, success, error_type, user_id, tenant_id
       FROM llm_usage WHERE request_id IN ('req-chat-1', 'req-fail-1') ORDER BY request_id`,
    );
    expect(rows).toEqual([
      {
        request_id: 'req-chat-1',
        model: 'gpt-4o-mini',
        prompt_tokens: 10,
        cost_cents: '0.000450000',
        success: true,
        error_type: null,
        user_id: 'u-7',
        tenant_id: 't-3',
      },
      {
        request_id: 'req-fail-1',
        model: 'mystery-model',
        prompt_tokens: 0,
        cost_cents: null,
        success: false,
        error_type: 'RateLimitError',
        user_id: null,
        tenant_id: null,
      },
    ]);
  });

  it('sums 10,000 gpt-4o-mini calls of 100 prompt tokens to exactly 15 cents, raw and in the hourly rollup', async () => {
    const before = Date.now();
    await app.get(BulkAgent).execute(10_000);
    await flushed();
    const [raw] = await query(
      `SELECT count(*)::int AS n, sum(cost_cents)::text AS cents FROM llm_usage WHERE agent_id = 'bulk-agent'`,
    );
    expect(raw).toEqual({ n: 10_000, cents: '15.000000000' });

    // The current hour is still open: rebuild it explicitly (the scheduled run waits until it closes).
    await app.get(HourlyAggregator).rebuild(new Date(before), new Date());
    const [hourly] = await query(
      `SELECT sum(calls)::int AS n, sum(cost_cents)::text AS cents, sum(unpriced_calls)::int AS unpriced
       FROM llm_usage_hourly WHERE agent_id = 'bulk-agent'`,
    );
    expect(hourly).toEqual({ n: 10_000, cents: '15.000000000', unpriced: 0 });
  });

  it('exposes the pipeline metrics on the module registry', async () => {
    const text = (await request(app.getHttpServer()).get('/metrics').expect(200)).text;
    const [{ n: llmRows }] = await query(`SELECT count(*)::int AS n FROM llm_usage`);
    expect(text).toContain(`magure_analytics_rows_written_total{table="llm_usage"} ${llmRows}`);
    expect(text).toContain('magure_analytics_rows_written_total{table="agent_executions"} 2');
    expect(text).toContain('magure_analytics_rows_written_total{table="workflow_analytics"} 1');
    expect(text).toContain('magure_analytics_rows_dropped_total{table="llm_usage"} 0');
    expect(text).toContain('magure_analytics_queue_depth 0');
    expect(text).toContain('magure_analytics_flush_failures_total 0');
    expect(text).toMatch(/magure_analytics_flush_duration_seconds_count [1-9]\d*/);
    const total = Number(/magure_db_pool_connections\{state="total"\} (\d+)/.exec(text)?.[1]);
    expect(total).toBeGreaterThanOrEqual(1);
    expect(total).toBeLessThanOrEqual(kind === 'pglite' ? 1 : 5);
    expect(text).toMatch(/magure_db_pool_connections\{state="idle"\} \d+/);
    expect(text).toMatch(/magure_db_pool_connections\{state="waiting"\} 0/);
  });
});
