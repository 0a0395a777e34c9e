import { LATENCY_BUCKETS_MS } from '../../../src/monitoring/analytics/latency-buckets';
import type { SqlRunner } from './workload';

/** Name of the aggregator's progress row in `analytics_aggregation_state`. */
export const STATE_NAME = 'hourly_rollups';

function buckets(column: string): string {
  const parts: string[] = [];
  let lower: number | undefined;
  for (const upper of LATENCY_BUCKETS_MS) {
    parts.push(`count(*) FILTER (WHERE ${lower === undefined ? '' : `${column} > ${lower} AND `}${column} <= ${upper})`);
    lower = upper;
  }
  parts.push(`count(*) FILTER (WHERE ${column} > ${lower})`);
  return `ARRAY[${parts.join(', ')}]::bigint[]`;
}

/**
 * Builds the hourly rollups of every hour before `until` exactly as the schema contract defines
 * them, and records `until - 1h` as the last closed hour. Used to seed large benchmark data sets
 * in one statement per table.
 */
export async function buildRollupsUntil(db: SqlRunner, until: Date): Promise<void> {
  const end = until.toISOString();
  await db.query(`DELETE FROM "llm_usage_hourly"`);
  await db.query(`DELETE FROM "agent_executions_hourly"`);
  await db.query(`DELETE FROM "workflow_analytics_hourly"`);
  await db.query(
    `INSERT INTO "llm_usage_hourly" ("hour", "provider", "model", "agent_id", "workflow_id", "tenant_id", "user_id",
       "calls", "failures", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "cost_cents",
       "unpriced_calls", "latency_ms_sum", "latency_ms_max", "latency_ms_buckets")
     SELECT date_trunc('hour', "timestamp", 'UTC'), "provider", "model", coalesce("agent_id", ''), coalesce("workflow_id", ''),
       coalesce("tenant_id", ''), coalesce("user_id", ''), count(*), count(*) FILTER (WHERE NOT "success"),
       sum("prompt_tokens"), sum("completion_tokens"), sum("cached_tokens"), sum("reasoning_tokens"),
       coalesce(sum("cost_cents"), 0), count(*) FILTER (WHERE "cost_cents" IS NULL), sum("latency_ms"), max("latency_ms"),
       ${buckets('"latency_ms"')}
     FROM "llm_usage" WHERE "timestamp" < $1::timestamptz GROUP BY 1, 2, 3, 4, 5, 6, 7`,
    [end],
  );
  await db.query(
    `INSERT INTO "agent_executions_hourly" ("hour", "agent_id", "agent_type", "workflow_id", "tenant_id", "executions",
       "failures", "latency_ms_sum", "latency_ms_max", "latency_ms_buckets", "llm_calls", "tool_calls", "tokens_used", "cost_cents")
     SELECT date_trunc('hour', "timestamp", 'UTC'), "agent_id", "agent_type", coalesce("workflow_id", ''), coalesce("tenant_id", ''),
       count(*), count(*) FILTER (WHERE "success" = false), coalesce(sum("latency_ms"), 0), max("latency_ms"),
       ${buckets('"latency_ms"')}, coalesce(sum("llm_calls_count"), 0), coalesce(sum("tool_calls_count"), 0),
       coalesce(sum("tokens_used"), 0), coalesce(sum("cost_cents"), 0)
     FROM "agent_executions" WHERE "timestamp" < $1::timestamptz GROUP BY 1, 2, 3, 4, 5`,
    [end],
  );
  await db.query(
    `INSERT INTO "workflow_analytics_hourly" ("hour", "workflow_id", "status", "tenant_id", "runs", "duration_ms_sum",
       "duration_ms_max", "duration_ms_buckets", "steps_executed", "steps_failed", "llm_calls", "tokens_used", "cost_cents")
     SELECT date_trunc('hour', "finished_at", 'UTC'), "workflow_id", "status", coalesce("tenant_id", ''), count(*),
       coalesce(sum("duration_ms"), 0), max("duration_ms"), ${buckets('"duration_ms"')}, coalesce(sum("steps_executed"), 0),
       coalesce(sum("steps_failed"), 0), coalesce(sum("llm_calls_count"), 0), coalesce(sum("tokens_used"), 0),
       coalesce(sum("cost_cents"), 0)
     FROM "workflow_analytics" WHERE "finished_at" < $1::timestamptz GROUP BY 1, 2, 3, 4`,
    [end],
  );
  await db.query(
    `INSERT INTO "analytics_aggregation_state" ("name", "last_closed_hour", "updated_at")
     VALUES ($1, $2::timestamptz - interval '1 hour', clock_timestamp())
     ON CONFLICT ("name") DO UPDATE SET "last_closed_hour" = EXCLUDED."last_closed_hour", "updated_at" = EXCLUDED."updated_at"`,
    [STATE_NAME, end],
  );
}

/** Forgets the rollups (every report then reads raw rows only). */
export async function dropRollups(db: SqlRunner): Promise<void> {
  await db.query(`DELETE FROM "llm_usage_hourly"`);
  await db.query(`DELETE FROM "agent_executions_hourly"`);
  await db.query(`DELETE FROM "workflow_analytics_hourly"`);
  await db.query(`DELETE FROM "analytics_aggregation_state"`);
}
