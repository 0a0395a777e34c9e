import { AGGREGATION_STATE_NAME } from '../aggregation/hourly-aggregator.service';
import { UNPRICED_FILTER, USAGE_MISSING_FILTER } from '../aggregation/rollup-queries';

/**
 * The three analytics fact tables as the query engine sees them: for each raw table, its hourly
 * rollup, the columns a report may group or filter by, and how each measure is computed from raw
 * rows and from rollup rows. Every SQL fragment here is a constant; user input only ever travels
 * as bound parameters.
 */

/** A column a report can group or filter by. */
export interface FactDimension {
  /** Column of the raw table. */
  raw: string;
  /** Column of the rollup table ('' stands for a missing id there). */
  rollup: string;
  /** The raw column may be NULL (grouped as '' to line up with the rollup). */
  nullable: boolean;
  /**
   * Many distinct values (tenants, users): results grouped by it are too large to keep per hour
   * in memory.
   */
  highCardinality?: boolean;
}

/** An additive measure: an exact integer (counts, tokens) or an exact amount of cents. */
export interface FactMeasure {
  kind: 'count' | 'cents';
  /** Aggregate over raw rows. */
  raw: string;
  /** Aggregate over rollup rows. */
  rollup: string;
}

/** Where a latency (or duration) distribution lives. */
export interface FactLatency {
  /** Raw column in milliseconds (NULL values are not part of the distribution). */
  raw: string;
  rollupSum: string;
  rollupMax: string;
  rollupBuckets: string;
}

export interface FactTable<D extends string, M extends string> {
  rawTable: string;
  rollupTable: string;
  /** Raw time column the rollup hour is derived from. */
  rawTime: string;
  /** `analytics_aggregation_state.name` of the job that fills the rollup. */
  aggregationJob: string;
  dimensions: Record<D, FactDimension>;
  measures: Record<M, FactMeasure>;
  latency: FactLatency;
}

const dim = (column: string, nullable: boolean, highCardinality = false): FactDimension => ({
  raw: `"${column}"`,
  rollup: `"${column}"`,
  nullable,
  highCardinality,
});

const sumOf = (rawColumn: string, rollupColumn = rawColumn): FactMeasure => ({
  kind: 'count',
  raw: `sum("${rawColumn}")`,
  rollup: `sum("${rollupColumn}")`,
});

export type LlmDimension = 'provider' | 'model' | 'agent_id' | 'workflow_id' | 'tenant_id' | 'user_id';
export type LlmMeasure =
  | 'calls'
  | 'failures'
  | 'prompt_tokens'
  | 'completion_tokens'
  | 'cached_tokens'
  | 'reasoning_tokens'
  | 'cost'
  | 'unpriced_calls'
  | 'usage_missing_calls';

/** `llm_usage` and `llm_usage_hourly`: one row per LLM call, time = call start. */
export const LLM_USAGE: FactTable<LlmDimension, LlmMeasure> = {
  rawTable: '"llm_usage"',
  rollupTable: '"llm_usage_hourly"',
  rawTime: '"timestamp"',
  aggregationJob: AGGREGATION_STATE_NAME,
  dimensions: {
    provider: dim('provider', false),
    model: dim('model', false),
    agent_id: dim('agent_id', true),
    workflow_id: dim('workflow_id', true),
    tenant_id: dim('tenant_id', true, true),
    user_id: dim('user_id', true, true),
  },
  measures: {
    calls: { kind: 'count', raw: 'count(*)', rollup: 'sum("calls")' },
    failures: { kind: 'count', raw: 'count(*) FILTER (WHERE NOT "success")', rollup: 'sum("failures")' },
    prompt_tokens: sumOf('prompt_tokens'),
    completion_tokens: sumOf('completion_tokens'),
    cached_tokens: sumOf('cached_tokens'),
    reasoning_tokens: sumOf('reasoning_tokens'),
    // NULL cost = unpriced or usage missing: left out of the sum, each counted apart.
    cost: { kind: 'cents', raw: 'sum("cost_cents")', rollup: 'sum("cost_cents")' },
    unpriced_calls: { kind: 'count', raw: UNPRICED_FILTER, rollup: 'sum("unpriced_calls")' },
    usage_missing_calls: { kind: 'count', raw: USAGE_MISSING_FILTER, rollup: 'sum("usage_missing_calls")' },
  },
  latency: {
    raw: '"latency_ms"',
    rollupSum: '"latency_ms_sum"',
    rollupMax: '"latency_ms_max"',
    rollupBuckets: '"latency_ms_buckets"',
  },
};

/** Dimensions of `llm_usage_hourly_by_model`. */
export const BY_MODEL_DIMENSIONS: readonly LlmDimension[] = ['provider', 'model'];

/**
 * `llm_usage` with `llm_usage_hourly_by_model` as its rollup (a few rows per hour, whatever the
 * number of agents, tenants and users): for LLM reports grouped and filtered by provider / model
 * only. The other dimensions do not exist in that rollup and must not be used with it.
 */
export const LLM_USAGE_BY_MODEL: FactTable<LlmDimension, LlmMeasure> = {
  ...LLM_USAGE,
  rollupTable: '"llm_usage_hourly_by_model"',
};

/** Dimensions of `llm_usage_hourly_by_principal`. */
export const BY_PRINCIPAL_DIMENSIONS: readonly LlmDimension[] = ['tenant_id', 'user_id'];

/** Measures `llm_usage_hourly_by_principal` holds (it keeps no cached/reasoning tokens, no latency). */
export const BY_PRINCIPAL_MEASURES: readonly LlmMeasure[] = [
  'calls',
  'failures',
  'prompt_tokens',
  'completion_tokens',
  'cost',
  'unpriced_calls',
  'usage_missing_calls',
];

/**
 * `llm_usage` with `llm_usage_hourly_by_principal` as its rollup (one row per active tenant and
 * user per hour): for LLM reports grouped and filtered by tenant / user only, asking only for
 * `BY_PRINCIPAL_MEASURES` and no latency. Other dimensions, measures and the latency columns do
 * not exist in that rollup and must not be used with it.
 */
export const LLM_USAGE_BY_PRINCIPAL: FactTable<LlmDimension, LlmMeasure> = {
  ...LLM_USAGE,
  rollupTable: '"llm_usage_hourly_by_principal"',
};

export type AgentDimension = 'agent_id' | 'agent_type' | 'workflow_id' | 'tenant_id';
export type AgentMeasure = 'executions' | 'failures' | 'llm_calls' | 'tool_calls' | 'tokens_used' | 'cost';

/** `agent_executions` and `agent_executions_hourly`: one row per agent run, time = start. */
export const AGENT_EXECUTIONS: FactTable<AgentDimension, AgentMeasure> = {
  rawTable: '"agent_executions"',
  rollupTable: '"agent_executions_hourly"',
  rawTime: '"timestamp"',
  aggregationJob: AGGREGATION_STATE_NAME,
  dimensions: {
    agent_id: dim('agent_id', false),
    agent_type: dim('agent_type', false),
    workflow_id: dim('workflow_id', true),
    tenant_id: dim('tenant_id', true, true),
  },
  measures: {
    executions: { kind: 'count', raw: 'count(*)', rollup: 'sum("executions")' },
    // Same definition as the rollup: a failure is `success = false` (NULL is not a failure).
    failures: { kind: 'count', raw: 'count(*) FILTER (WHERE "success" = false)', rollup: 'sum("failures")' },
    llm_calls: sumOf('llm_calls_count', 'llm_calls'),
    tool_calls: sumOf('tool_calls_count', 'tool_calls'),
    tokens_used: sumOf('tokens_used'),
    cost: { kind: 'cents', raw: 'sum("cost_cents")', rollup: 'sum("cost_cents")' },
  },
  latency: {
    raw: '"latency_ms"',
    rollupSum: '"latency_ms_sum"',
    rollupMax: '"latency_ms_max"',
    rollupBuckets: '"latency_ms_buckets"',
  },
};

export type WorkflowDimension = 'workflow_id' | 'status' | 'tenant_id';
export type WorkflowMeasure = 'runs' | 'steps_executed' | 'steps_failed' | 'llm_calls' | 'tokens_used' | 'cost';

/** `workflow_analytics` and `workflow_analytics_hourly`: one row per run, time = finish. */
export const WORKFLOW_RUNS: FactTable<WorkflowDimension, WorkflowMeasure> = {
  rawTable: '"workflow_analytics"',
  rollupTable: '"workflow_analytics_hourly"',
  rawTime: '"finished_at"',
  aggregationJob: AGGREGATION_STATE_NAME,
  dimensions: {
    workflow_id: dim('workflow_id', false),
    status: dim('status', false),
    tenant_id: dim('tenant_id', true, true),
  },
  measures: {
    runs: { kind: 'count', raw: 'count(*)', rollup: 'sum("runs")' },
    steps_executed: sumOf('steps_executed'),
    steps_failed: sumOf('steps_failed'),
    llm_calls: sumOf('llm_calls_count', 'llm_calls'),
    tokens_used: sumOf('tokens_used'),
    cost: { kind: 'cents', raw: 'sum("cost_cents")', rollup: 'sum("cost_cents")' },
  },
  latency: {
    raw: '"duration_ms"',
    rollupSum: '"duration_ms_sum"',
    rollupMax: '"duration_ms_max"',
    rollupBuckets: '"duration_ms_buckets"',
  },
};
