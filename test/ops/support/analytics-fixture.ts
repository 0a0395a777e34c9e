import { Registry } from 'prom-client';
import {
  HourlyAggregator,
  type AggregationResult,
} from '../../../src/monitoring/analytics/aggregation/hourly-aggregator.service';
import { AnalyticsMetrics } from '../../../src/monitoring/analytics/analytics.metrics';
import { AnalyticsDatabase } from '../../../src/monitoring/analytics/database/analytics-database';
import { IN_MEMORY_DATABASE } from '../../../src/monitoring/analytics/database/embedded-postgres';

/** Values present in the generated rows, for selecting concrete variable values. */
export const FIXTURE_VALUES = {
  provider: 'openai',
  model: 'gpt-4.1',
  agent_type: 'llm',
  agent: 'kpi-calculator',
  workflow: 'daily-report',
};

/**
 * Deterministic rows: 1,200 LLM calls, 900 agent executions and 400 workflow runs in the last
 * 3 hours (inside every dashboard's default range), and as many again spread over 100 days, so
 * that the 30- and 90-day panels have history beyond Prometheus retention. Every model, agent,
 * workflow, tenant (and no tenant), failure, unpriced call and slow call is represented.
 */
export const ANALYTICS_ROWS = `
WITH s AS (
  SELECT i,
         CASE WHEN i <= 1200 THEN now() - i * interval '9 seconds' ELSE now() - (i - 1200) * interval '2 hours' END AS ts,
         (ARRAY['openai','openai','anthropic','acme'])[1 + i % 4] AS provider,
         (ARRAY['gpt-4o','gpt-4.1','claude-3-5-sonnet-20241022','acme-router-1'])[1 + i % 4] AS model,
         (ARRAY['kpi-calculator','summariser','researcher','router'])[1 + i % 4] AS agent_id,
         (ARRAY['daily-report','research','ingest'])[1 + i % 3] AS workflow_id,
         i % 10 <> 0 AS success
  FROM generate_series(1, 2400) AS i
)
INSERT INTO llm_usage ("timestamp", request_id, agent_id, workflow_id, workflow_run_id, provider, model,
                       prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_cents, latency_ms,
                       success, error_type, user_id, tenant_id, session_id, attributes)
SELECT ts, 'req-' || i, agent_id, workflow_id, 'run-' || (i / 3), provider, model,
       CASE WHEN success THEN 100 + i % 900 ELSE 0 END,
       CASE WHEN success THEN 20 + i % 300 ELSE 0 END,
       i % 50, 0,
       CASE WHEN success AND provider <> 'acme' THEN round(((100 + i % 900) * 0.25 + (20 + i % 300) * 1.0) / 1000, 9) END,
       150 + (i * 37) % 7000,
       success, CASE WHEN NOT success THEN 'RateLimitError' END,
       'user-' || i % 7, CASE WHEN i % 5 = 0 THEN NULL ELSE 'tenant-' || i % 3 END, 'session-' || i % 11,
       jsonb_build_object('streamed', i % 2 = 0)
FROM s;

WITH s AS (
  SELECT i,
         CASE WHEN i <= 900 THEN now() - i * interval '12 seconds' ELSE now() - (i - 900) * interval '3 hours' END AS ts,
         (ARRAY['kpi-calculator','summariser','researcher','router'])[1 + i % 4] AS agent_id,
         (ARRAY['llm','llm','rag','router'])[1 + i % 4] AS agent_type,
         i % 12 <> 0 AS success
  FROM generate_series(1, 1700) AS i
)
INSERT INTO agent_executions ("timestamp", agent_id, agent_type, success, latency_ms, llm_calls_count, tool_calls_count,
                              tokens_used, cost_cents, request_id, workflow_id, workflow_run_id, error_type, user_id, tenant_id)
SELECT ts, agent_id, agent_type, success, 300 + (i * 53) % 20000, 1 + i % 3, i % 4, 500 + i % 2000,
       round((500 + i % 2000) * 0.0005, 9), 'req-' || i, CASE WHEN i % 2 = 0 THEN 'daily-report' END, 'run-' || (i / 2),
       CASE WHEN NOT success THEN 'AgentError' END, 'user-' || i % 7, 'tenant-' || i % 3
FROM s;

WITH s AS (
  SELECT i,
         CASE WHEN i <= 400 THEN now() - i * interval '25 seconds' ELSE now() - (i - 400) * interval '6 hours' END AS ts,
         (ARRAY['daily-report','research','ingest'])[1 + i % 3] AS workflow_id,
         CASE WHEN i % 10 = 0 THEN 'failed' WHEN i % 10 = 5 THEN 'timeout' ELSE 'completed' END AS status,
         1000 + (i * 97) % 120000 AS duration_ms
  FROM generate_series(1, 800) AS i
)
INSERT INTO workflow_analytics (workflow_id, run_id, status, duration_ms, steps_executed, steps_failed, started_at,
                                finished_at, request_id, error_type, tenant_id, user_id)
SELECT workflow_id, 'run-' || i, status, duration_ms, 1 + i % 7, CASE WHEN status = 'failed' THEN 1 ELSE 0 END,
       ts - duration_ms * interval '1 millisecond', ts, 'req-' || i,
       CASE status WHEN 'failed' THEN 'StepError' WHEN 'timeout' THEN 'TimeoutError' END, 'tenant-' || i % 3, 'user-' || i % 7
FROM s;
`;

/**
 * Connects to the analytics database the way the module does (`AnalyticsDatabase`), which applies
 * the repository's TypeORM migrations: the panels are tested against the real schema only.
 */
export async function openMigratedDatabase(databaseUrl: string): Promise<AnalyticsDatabase> {
  const database = new AnalyticsDatabase({
    databaseUrl,
    embeddedDatabaseDir: IN_MEMORY_DATABASE,
    runMigrations: true,
    poolSize: 2,
  });
  await database.open();
  return database;
}

/**
 * Builds the hourly rollups of every closed hour with the module's own `HourlyAggregator`, as the
 * app does at start (first run: from the oldest raw row up to the hour before the current one).
 */
export async function rollUp(database: AnalyticsDatabase): Promise<AggregationResult> {
  const aggregator = new HourlyAggregator(
    database,
    // Whole weeks per transaction: 100 days of history in 15 transactions instead of 400.
    { intervalSeconds: 3600, lookbackHours: 3, chunkHours: 24 * 7 },
    new AnalyticsMetrics(new Registry(), 'magure_'),
  );
  const result = await aggregator.run();
  if (result.status !== 'completed')
    throw new Error(`aggregation ${result.status}: ${result.error?.message ?? ''}`);
  return result;
}
