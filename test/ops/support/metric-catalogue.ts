/**
 * Metric families the dashboards and alerts may read, with their Prometheus type and label names,
 * as the module exports them (src/monitoring/metrics, src/monitoring/analytics/analytics.metrics.ts,
 * src/monitoring/logging/loki/loki.metrics.ts, prom-client's default metrics). A panel or rule that
 * names anything else is a typo. The Prometheus end-to-end test checks that the running app exports
 * every family listed here with exactly these labels, and no `magure_` family missing from it.
 */
import { ANALYTICS_TABLES } from '../../../src/monitoring/analytics/ingest/analytics-tables';
import { USAGE_ISSUES } from '../../../src/monitoring/llm-usage/usage-validation';
import { LOKI_DROP_REASONS } from '../../../src/monitoring/logging/loki/loki-log.stream';

export interface MetricFamily {
  type: 'counter' | 'gauge' | 'histogram';
  /** Label names of the family's series (histograms: without `le`). */
  labels: string[];
}

const family = (type: MetricFamily['type'], ...labels: string[]): MetricFamily => ({
  type,
  labels,
});

/**
 * The closed sets of values some labels take, per family: a query or a rule test that matches
 * another value (e.g. `status="error"`) can never match a real series.
 */
export const LABEL_VALUES: Record<string, Record<string, readonly string[]>> = {
  magure_agent_executions_total: { status: ['success', 'failure'] },
  magure_agent_tool_calls_total: { status: ['success', 'failure'] },
  magure_llm_requests_total: { status: ['success', 'failure'] },
  magure_llm_tokens_total: { token_type: ['prompt', 'completion'] },
  magure_workflow_executions_total: { status: ['completed', 'failed', 'timeout'] },
  magure_analytics_rows_written_total: { table: ANALYTICS_TABLES },
  magure_analytics_rows_dropped_total: { table: ANALYTICS_TABLES },
  magure_analytics_rows_spooled_total: { table: ANALYTICS_TABLES },
  magure_analytics_aggregation_runs_total: { result: ['completed', 'skipped', 'failed'] },
  magure_db_pool_connections: { state: ['total', 'idle', 'waiting'] },
  magure_loki_lines_dropped_total: { reason: LOKI_DROP_REASONS },
  magure_llm_usage_invalid_total: { reason: USAGE_ISSUES },
};

export const EXPORTED_METRIC_FAMILIES: Record<string, MetricFamily> = {
  // Events (metrics sink).
  magure_http_requests_total: family('counter', 'method', 'endpoint', 'status_code'),
  magure_http_request_duration_seconds: family('histogram', 'method', 'endpoint'),
  magure_http_requests_in_progress: family('gauge', 'method', 'endpoint'),
  magure_agent_executions_total: family('counter', 'agent_id', 'agent_type', 'status'),
  magure_agent_execution_duration_seconds: family('histogram', 'agent_id', 'agent_type'),
  magure_agent_tool_calls_total: family('counter', 'agent_id', 'tool_name', 'status'),
  magure_llm_requests_total: family('counter', 'provider', 'model', 'status'),
  magure_llm_request_duration_seconds: family('histogram', 'provider', 'model'),
  magure_llm_tokens_total: family('counter', 'provider', 'model', 'token_type'),
  magure_llm_cost_cents_total: family('counter', 'provider', 'model'),
  magure_llm_unpriced_calls_total: family('counter', 'provider', 'model'),
  magure_llm_usage_missing_total: family('counter', 'provider', 'model'),
  magure_llm_usage_invalid_total: family('counter', 'reason'),
  magure_workflow_executions_total: family('counter', 'workflow_id', 'status'),
  magure_workflow_duration_seconds: family('histogram', 'workflow_id'),
  magure_workflows_active: family('gauge'),
  magure_monitoring_errors_total: family('counter', 'source'),
  magure_metric_label_values_folded_total: family('counter', 'label'),
  // Analytics pipeline (write-behind queue, PostgreSQL pool, hourly aggregator).
  magure_analytics_queue_depth: family('gauge'),
  magure_analytics_rows_written_total: family('counter', 'table'),
  magure_analytics_rows_dropped_total: family('counter', 'table'),
  magure_analytics_rows_spooled_total: family('counter', 'table'),
  magure_analytics_spool_bytes: family('gauge'),
  magure_analytics_flush_duration_seconds: family('histogram'),
  magure_analytics_flush_failures_total: family('counter'),
  magure_analytics_aggregation_runs_total: family('counter', 'result'),
  magure_analytics_aggregation_last_closed_hour_timestamp_seconds: family('gauge'),
  magure_db_pool_connections: family('gauge', 'state'),
  // Loki shipping (counters of the transport's worker thread).
  magure_loki_lines_sent_total: family('counter'),
  magure_loki_lines_dropped_total: family('counter', 'reason'),
  magure_loki_push_retries_total: family('counter'),
  magure_loki_buffered_lines: family('gauge'),
  // prom-client default metrics (no prefix).
  process_cpu_seconds_total: family('counter'),
  process_resident_memory_bytes: family('gauge'),
  nodejs_heap_size_used_bytes: family('gauge'),
  nodejs_heap_size_total_bytes: family('gauge'),
  nodejs_eventloop_lag_p99_seconds: family('gauge'),
  nodejs_gc_duration_seconds: family('histogram', 'kind'),
};

/** Histogram families (their `_bucket`, `_sum` and `_count` series belong to them). */
export const HISTOGRAM_FAMILIES: ReadonlySet<string> = new Set(
  Object.entries(EXPORTED_METRIC_FAMILIES)
    .filter(([, f]) => f.type === 'histogram')
    .map(([name]) => name),
);

/** Every family a query may name, plus Prometheus' own `up`. */
export const KNOWN_METRIC_FAMILIES: ReadonlySet<string> = new Set([
  ...Object.keys(EXPORTED_METRIC_FAMILIES),
  'up',
]);

/** Labels Prometheus adds to every scraped series (job, instance, and the target file's `app`). */
export const TARGET_LABELS: ReadonlySet<string> = new Set(['job', 'instance', 'app']);

/** The family of a sample name: histogram `_bucket` / `_sum` / `_count` series belong to their histogram. */
function familyOfSample(name: string): { family: string; bucket: boolean } {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && HISTOGRAM_FAMILIES.has(base))
      return { family: base, bucket: suffix === '_bucket' };
  }
  return { family: name, bucket: false };
}

/**
 * Problems of the series selectors (`name{label="value", ...}`) of a PromQL expression or a
 * promtool input series: unknown metric names, label names the family does not have, and
 * `=` / `=~` matchers that no value of a closed label set can satisfy.
 */
export function selectorProblems(expr: string): string[] {
  const problems: string[] = [];
  const selector = /\b((?:magure|process|nodejs)_\w+|up)\s*(?:\{([^}]*)\})?/g;
  // Recording rule names (magure:...) are checked elsewhere; skip strings when finding names.
  const masked = expr.replace(/"(?:[^"\\]|\\.)*"/g, (s) => '"' + '_'.repeat(s.length - 2) + '"');
  for (const m of masked.matchAll(selector)) {
    const name = m[1] as string;
    if (expr[m.index - 1] === ':') continue;
    const { family, bucket } = familyOfSample(name);
    const known: MetricFamily | undefined =
      family === 'up' ? { type: 'gauge', labels: [] } : EXPORTED_METRIC_FAMILIES[family];
    if (!known) {
      problems.push(`unknown metric ${name}`);
      continue;
    }
    if (m[2] === undefined) continue;
    const body = expr.slice(m.index + m[0].indexOf('{') + 1, m.index + m[0].length - 1);
    for (const matcher of body.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
      const [, label, op, raw] = matcher as unknown as [string, string, string, string];
      const value = JSON.parse(`"${raw}"`) as string;
      if (label === '__name__') continue;
      if (
        !known.labels.includes(label) &&
        !TARGET_LABELS.has(label) &&
        !(bucket && label === 'le')
      ) {
        problems.push(`${name} has no label "${label}"`);
        continue;
      }
      const closed = LABEL_VALUES[family]?.[label];
      if (!closed) continue;
      if (op === '=' && !closed.includes(value))
        problems.push(
          `${name}{${label}="${value}"} matches no series (values: ${closed.join(', ')})`,
        );
      if (op === '=~' && !closed.some((v) => new RegExp(`^(?:${value})$`).test(v)))
        problems.push(
          `${name}{${label}=~"${value}"} matches no series (values: ${closed.join(', ')})`,
        );
    }
  }
  return problems;
}
