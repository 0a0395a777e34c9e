import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { filesIn, ROOT } from './ops-paths';
import { join } from 'node:path';

/**
 * The analytics tables as the SQL panels expect them (column names and types of the design). Used
 * only when the repository has no migrations yet; otherwise the real migrations create the tables.
 */
export const MINIMAL_ANALYTICS_SCHEMA = `
CREATE TABLE llm_usage (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  "timestamp" timestamptz NOT NULL,
  request_id varchar(128), agent_id varchar(255), workflow_id varchar(255), workflow_run_id varchar(128),
  provider varchar(64) NOT NULL, model varchar(255) NOT NULL,
  prompt_tokens integer NOT NULL DEFAULT 0, completion_tokens integer NOT NULL DEFAULT 0,
  cached_tokens integer NOT NULL DEFAULT 0, reasoning_tokens integer NOT NULL DEFAULT 0,
  cost_cents numeric(20,9), latency_ms integer NOT NULL, success boolean NOT NULL, error_type varchar(255),
  user_id varchar(255), tenant_id varchar(255), session_id varchar(255), attributes jsonb
);
CREATE TABLE agent_executions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  "timestamp" timestamptz NOT NULL,
  agent_id varchar(255) NOT NULL, agent_type varchar(64) NOT NULL, success boolean NOT NULL, latency_ms integer NOT NULL,
  llm_calls_count integer NOT NULL DEFAULT 0, tool_calls_count integer NOT NULL DEFAULT 0, tokens_used integer NOT NULL DEFAULT 0,
  cost_cents numeric(20,9), request_id varchar(128), workflow_id varchar(255), workflow_run_id varchar(128),
  error_type varchar(255), user_id varchar(255), tenant_id varchar(255)
);
CREATE TABLE workflow_analytics (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workflow_id varchar(255) NOT NULL, run_id varchar(128) NOT NULL, status varchar(16) NOT NULL,
  duration_ms integer NOT NULL, steps_executed integer NOT NULL DEFAULT 0, steps_failed integer NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL, finished_at timestamptz NOT NULL,
  request_id varchar(128), error_type varchar(255), tenant_id varchar(255), user_id varchar(255)
);
`;

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
 * Creates the analytics tables: by running the repository's TypeORM migrations when there are any
 * (so the panels are tested against the real schema), else with {@link MINIMAL_ANALYTICS_SCHEMA}.
 */
export async function createAnalyticsTables(
  connectionString: string,
): Promise<'migrations' | 'minimal-schema'> {
  const migrationFiles = filesIn(join(ROOT, 'migrations'), '.ts').filter(
    (f) => !f.endsWith('.spec.ts') && !f.endsWith('.d.ts'),
  );
  if (migrationFiles.length > 0) {
    const classes = migrationFiles
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      .flatMap((f) => Object.values(require(f) as Record<string, unknown>))
      .filter((v): v is Function => typeof v === 'function');
    const ds = new DataSource({
      type: 'postgres',
      url: connectionString,
      migrations: classes,
      logging: false,
    });
    await ds.initialize();
    try {
      await ds.runMigrations();
    } finally {
      await ds.destroy();
    }
    return 'migrations';
  }
  const client = new Client({ connectionString });
  await client.connect();
  try {
    await client.query(MINIMAL_ANALYTICS_SCHEMA);
  } finally {
    await client.end();
  }
  return 'minimal-schema';
}
