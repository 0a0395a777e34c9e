import { LATENCY_BUCKETS_MS } from '../latency-buckets';

/** How one rollup table is rebuilt from its raw table for a range of hours. */
export interface RollupDefinition {
  /** The rollup table. */
  readonly rollup: string;
  /** DELETE of the rollup rows of hours in [$1, $2). */
  readonly deleteSql: string;
  /** INSERT of the rollup rows recomputed from the raw rows of hours in [$1, $2). */
  readonly insertSql: string;
}

/**
 * Per-bucket counts over LATENCY_BUCKETS_MS (+Inf last), as a bigint[]; NULL values are in no
 * bucket. Each element counts `bounds[i-1] < v <= bounds[i]` (see latency-buckets.ts).
 */
export function bucketArraySql(column: string): string {
  const parts: string[] = [];
  let previous: number | undefined;
  for (const bound of LATENCY_BUCKETS_MS) {
    const lower = previous === undefined ? '' : `${column} > ${previous} AND `;
    parts.push(`count(*) FILTER (WHERE ${lower}${column} <= ${bound})`);
    previous = bound;
  }
  parts.push(`count(*) FILTER (WHERE ${column} > ${previous})`);
  return `ARRAY[${parts.join(', ')}]::bigint[]`;
}

/** Successful calls with known usage and no price (the API's and the metric's "unpriced"). */
export const UNPRICED_FILTER = 'count(*) FILTER (WHERE "cost_cents" IS NULL AND "success" AND NOT "usage_missing")';

/** Successful calls that reported no token usage. */
export const USAGE_MISSING_FILTER = 'count(*) FILTER (WHERE "usage_missing")';

/** The UTC hour of a time column (independent of the session's TimeZone). */
function hourOf(column: string): string {
  return `date_trunc('hour', ${column}, 'UTC')`;
}

/**
 * The rollups. Each is rebuilt for whole hours (delete, then insert the full recomputation)
 * inside one transaction, so a re-run gives the same rows and readers never see a half-built
 * hour. Missing ids become '' (they are part of the primary key).
 */
export const ROLLUPS: readonly RollupDefinition[] = [
  {
    rollup: 'llm_usage_hourly',
    deleteSql: `DELETE FROM "llm_usage_hourly" WHERE "hour" >= $1 AND "hour" < $2`,
    insertSql: `
      INSERT INTO "llm_usage_hourly" (
        "hour", "provider", "model", "agent_id", "workflow_id", "tenant_id", "user_id",
        "calls", "failures", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens",
        "cost_cents", "unpriced_calls", "usage_missing_calls", "latency_ms_sum", "latency_ms_max", "latency_ms_buckets")
      SELECT ${hourOf('"timestamp"')}, "provider", "model",
        COALESCE("agent_id", ''), COALESCE("workflow_id", ''), COALESCE("tenant_id", ''), COALESCE("user_id", ''),
        count(*), count(*) FILTER (WHERE NOT "success"),
        COALESCE(sum("prompt_tokens"), 0), COALESCE(sum("completion_tokens"), 0),
        COALESCE(sum("cached_tokens"), 0), COALESCE(sum("reasoning_tokens"), 0),
        COALESCE(sum("cost_cents"), 0), ${UNPRICED_FILTER}, ${USAGE_MISSING_FILTER},
        COALESCE(sum("latency_ms"), 0), max("latency_ms"), ${bucketArraySql('"latency_ms"')}
      FROM "llm_usage"
      WHERE "timestamp" >= $1 AND "timestamp" < $2
      GROUP BY 1, 2, 3, 4, 5, 6, 7`,
  },
  {
    rollup: 'llm_usage_hourly_by_model',
    deleteSql: `DELETE FROM "llm_usage_hourly_by_model" WHERE "hour" >= $1 AND "hour" < $2`,
    insertSql: `
      INSERT INTO "llm_usage_hourly_by_model" (
        "hour", "provider", "model",
        "calls", "failures", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens",
        "cost_cents", "unpriced_calls", "usage_missing_calls", "latency_ms_sum", "latency_ms_max", "latency_ms_buckets")
      SELECT ${hourOf('"timestamp"')}, "provider", "model",
        count(*), count(*) FILTER (WHERE NOT "success"),
        COALESCE(sum("prompt_tokens"), 0), COALESCE(sum("completion_tokens"), 0),
        COALESCE(sum("cached_tokens"), 0), COALESCE(sum("reasoning_tokens"), 0),
        COALESCE(sum("cost_cents"), 0), ${UNPRICED_FILTER}, ${USAGE_MISSING_FILTER},
        COALESCE(sum("latency_ms"), 0), max("latency_ms"), ${bucketArraySql('"latency_ms"')}
      FROM "llm_usage"
      WHERE "timestamp" >= $1 AND "timestamp" < $2
      GROUP BY 1, 2, 3`,
  },
  {
    rollup: 'llm_usage_hourly_by_principal',
    deleteSql: `DELETE FROM "llm_usage_hourly_by_principal" WHERE "hour" >= $1 AND "hour" < $2`,
    insertSql: `
      INSERT INTO "llm_usage_hourly_by_principal" (
        "hour", "tenant_id", "user_id",
        "calls", "failures", "prompt_tokens", "completion_tokens", "cost_cents", "unpriced_calls", "usage_missing_calls")
      SELECT ${hourOf('"timestamp"')}, COALESCE("tenant_id", ''), COALESCE("user_id", ''),
        count(*), count(*) FILTER (WHERE NOT "success"),
        COALESCE(sum("prompt_tokens"), 0), COALESCE(sum("completion_tokens"), 0),
        COALESCE(sum("cost_cents"), 0), ${UNPRICED_FILTER}, ${USAGE_MISSING_FILTER}
      FROM "llm_usage"
      WHERE "timestamp" >= $1 AND "timestamp" < $2
      GROUP BY 1, 2, 3`,
  },
  {
    rollup: 'agent_executions_hourly',
    deleteSql: `DELETE FROM "agent_executions_hourly" WHERE "hour" >= $1 AND "hour" < $2`,
    insertSql: `
      INSERT INTO "agent_executions_hourly" (
        "hour", "agent_id", "agent_type", "workflow_id", "tenant_id",
        "executions", "failures", "latency_ms_sum", "latency_ms_max", "latency_ms_buckets",
        "llm_calls", "tool_calls", "tokens_used", "cost_cents")
      SELECT ${hourOf('"timestamp"')}, "agent_id", "agent_type", COALESCE("workflow_id", ''), COALESCE("tenant_id", ''),
        count(*), count(*) FILTER (WHERE "success" = false),
        COALESCE(sum("latency_ms"), 0), max("latency_ms"), ${bucketArraySql('"latency_ms"')},
        COALESCE(sum("llm_calls_count"), 0), COALESCE(sum("tool_calls_count"), 0),
        COALESCE(sum("tokens_used"), 0), COALESCE(sum("cost_cents"), 0)
      FROM "agent_executions"
      WHERE "timestamp" >= $1 AND "timestamp" < $2
      GROUP BY 1, 2, 3, 4, 5`,
  },
  {
    rollup: 'workflow_analytics_hourly',
    deleteSql: `DELETE FROM "workflow_analytics_hourly" WHERE "hour" >= $1 AND "hour" < $2`,
    insertSql: `
      INSERT INTO "workflow_analytics_hourly" (
        "hour", "workflow_id", "status", "tenant_id",
        "runs", "duration_ms_sum", "duration_ms_max", "duration_ms_buckets",
        "steps_executed", "steps_failed", "llm_calls", "tokens_used", "cost_cents")
      SELECT ${hourOf('"finished_at"')}, "workflow_id", "status", COALESCE("tenant_id", ''),
        count(*), COALESCE(sum("duration_ms"), 0), max("duration_ms"), ${bucketArraySql('"duration_ms"')},
        COALESCE(sum("steps_executed"), 0), COALESCE(sum("steps_failed"), 0),
        COALESCE(sum("llm_calls_count"), 0), COALESCE(sum("tokens_used"), 0), COALESCE(sum("cost_cents"), 0)
      FROM "workflow_analytics"
      WHERE "finished_at" >= $1 AND "finished_at" < $2
      GROUP BY 1, 2, 3, 4`,
  },
];

/** Earliest raw row time over the three tables (NULL when all are empty). */
export const EARLIEST_RAW_HOUR_SQL = `
  SELECT ${hourOf(`least(
    (SELECT min("timestamp") FROM "llm_usage"),
    (SELECT min("timestamp") FROM "agent_executions"),
    (SELECT min("finished_at") FROM "workflow_analytics"))`)} AS "hour"`;
