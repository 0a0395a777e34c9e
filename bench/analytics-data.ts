/**
 * Synthetic raw analytics rows generated inside PostgreSQL with `generate_series` (millions of
 * rows in seconds, no round trips). Values are deterministic functions of the row number and
 * cover what the rollups must get right: NULL ids, unpriced calls (NULL cost), failures,
 * fractional costs with nine decimals, and latencies on both sides of every bucket bound.
 */

/** Latencies cycled through: every bucket bound, its neighbours, and values above the last one. */
export const SAMPLE_LATENCIES_MS = [
  0, 10, 50, 51, 100, 101, 249, 250, 251, 499, 500, 1000, 1001, 2499, 2500, 4999, 5000, 9999, 10000,
  29999, 30000, 59999, 60000, 119999, 120000, 299999, 300000, 300001, 999999,
];

const LATENCIES = `(ARRAY[${SAMPLE_LATENCIES_MS.join(',')}])[1 + (i % ${SAMPLE_LATENCIES_MS.length})]`;

/**
 * INSERT of `$3` llm_usage rows with timestamps spread evenly over [$1, $2).
 * Parameters: $1 start (timestamptz), $2 end (timestamptz), $3 count, $4 first row number.
 */
export const GENERATE_LLM_USAGE_SQL = `
  INSERT INTO llm_usage (timestamp, request_id, agent_id, workflow_id, workflow_run_id, provider, model,
    prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cost_cents,
    latency_ms, success, error_type, streamed, user_id, tenant_id, session_id)
  SELECT $1::timestamptz + ($2::timestamptz - $1::timestamptz) * ((i - $4::bigint)::float8 / $3::bigint),
    'req-' || i,
    CASE WHEN i % 5 = 0 THEN NULL ELSE 'agent-' || (i % 4) END,
    CASE WHEN i % 7 = 0 THEN 'workflow-' || (i % 2) ELSE NULL END,
    CASE WHEN i % 7 = 0 THEN 'run-' || (i / 7) ELSE NULL END,
    CASE WHEN i % 3 = 2 THEN 'anthropic' ELSE 'openai' END,
    (ARRAY['gpt-4o-mini', 'gpt-4o', 'claude-3-5-sonnet', 'o1-preview', 'gpt-4o-mini-2024-07-18'])[1 + (i % 5)],
    (i * 37) % 4000, (i * 11) % 900, (i * 3) % 200, (i % 3) * 7, (i % 4) * 5,
    CASE WHEN i % 11 = 0 THEN NULL ELSE ((i * 7919) % 10000000)::numeric / 1000000000 END,
    ${LATENCIES},
    i % 13 <> 0,
    CASE WHEN i % 13 = 0 THEN 'RateLimitError' ELSE NULL END,
    i % 6 = 0,
    CASE WHEN i % 4 = 0 THEN NULL ELSE 'user-' || (i % 10) END,
    CASE WHEN i % 9 = 0 THEN NULL ELSE 'tenant-' || (i % 3) END,
    NULL
  FROM generate_series($4::bigint, $4::bigint + $3::bigint - 1) AS i`;

/** INSERT of `$3` agent_executions rows over [$1, $2) (same parameters as the llm_usage one). */
export const GENERATE_AGENT_EXECUTIONS_SQL = `
  INSERT INTO agent_executions (timestamp, agent_id, agent_type, success, latency_ms, llm_calls_count,
    tool_calls_count, tokens_used, cost_cents, request_id, workflow_id, workflow_run_id, error_type, user_id, tenant_id)
  SELECT $1::timestamptz + ($2::timestamptz - $1::timestamptz) * ((i - $4::bigint)::float8 / $3::bigint),
    'agent-' || (i % 4),
    (ARRAY['llm', 'rag', 'tool'])[1 + (i % 3)],
    CASE WHEN i % 17 = 0 THEN NULL ELSE i % 10 <> 0 END,
    CASE WHEN i % 19 = 0 THEN NULL ELSE ${LATENCIES} END,
    i % 5, i % 3, (i * 13) % 5000,
    ((i * 104729) % 100000000)::numeric / 1000000000,
    'req-' || i,
    CASE WHEN i % 2 = 0 THEN 'workflow-' || (i % 3) ELSE NULL END,
    NULL,
    CASE WHEN i % 10 = 0 THEN 'AgentError' ELSE NULL END,
    'user-' || (i % 7),
    CASE WHEN i % 8 = 0 THEN NULL ELSE 'tenant-' || (i % 2) END
  FROM generate_series($4::bigint, $4::bigint + $3::bigint - 1) AS i`;

/** INSERT of `$3` workflow_analytics rows finishing over [$1, $2) (same parameters). */
export const GENERATE_WORKFLOW_ANALYTICS_SQL = `
  INSERT INTO workflow_analytics (workflow_id, run_id, status, duration_ms, steps_executed, steps_failed,
    started_at, finished_at, llm_calls_count, tokens_used, cost_cents, request_id, error_type, user_id, tenant_id)
  SELECT 'workflow-' || (i % 3), 'run-' || i,
    (ARRAY['completed', 'completed', 'failed', 'timeout'])[1 + (i % 4)],
    CASE WHEN i % 23 = 0 THEN NULL ELSE ${LATENCIES} END,
    i % 6, CASE WHEN i % 4 = 2 THEN 1 ELSE 0 END,
    t - interval '1 second', t,
    i % 9, (i * 29) % 20000,
    ((i * 15485863) % 1000000000)::numeric / 1000000000,
    'req-' || i, NULL, NULL,
    CASE WHEN i % 5 = 0 THEN NULL ELSE 'tenant-' || (i % 2) END
  FROM (SELECT i, $1::timestamptz + ($2::timestamptz - $1::timestamptz) * ((i - $4::bigint)::float8 / $3::bigint) AS t
        FROM generate_series($4::bigint, $4::bigint + $3::bigint - 1) AS i) AS g`;

/**
 * llm_usage rows for the report benchmark, with the key cardinality of a mid-sized installation:
 * 40 users in 4 tenants, 6 agents (3 of them inside 3 workflows), 4 models, so at most 480
 * rollup rows per hour. Same parameters as `GENERATE_LLM_USAGE_SQL`.
 */
export const GENERATE_LLM_USAGE_REPORT_SQL = `
  INSERT INTO llm_usage (timestamp, request_id, agent_id, workflow_id, provider, model,
    prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_cents, latency_ms, success, user_id, tenant_id)
  SELECT $1::timestamptz + ($2::timestamptz - $1::timestamptz) * ((i - $4::bigint)::float8 / $3::bigint),
    'req-' || i,
    'agent-' || (i % 6),
    CASE WHEN i % 6 < 3 THEN 'workflow-' || (i % 6) ELSE NULL END,
    CASE WHEN (i / 40) % 4 = 3 THEN 'anthropic' ELSE 'openai' END,
    (ARRAY['gpt-4o-mini', 'gpt-4o', 'o1-preview', 'claude-3-5-sonnet'])[1 + (i / 40) % 4],
    (i * 37) % 4000, (i * 11) % 900, (i * 3) % 200, 0,
    CASE WHEN i % 101 = 0 THEN NULL ELSE ((i * 7919) % 10000000)::numeric / 1000000000 END,
    ${LATENCIES},
    i % 53 <> 0,
    'user-' || (i % 40),
    'tenant-' || ((i % 40) % 4)
  FROM generate_series($4::bigint, $4::bigint + $3::bigint - 1) AS i`;
