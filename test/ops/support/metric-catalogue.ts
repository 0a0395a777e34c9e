/**
 * Metric families the dashboards and alerts may read, with their Prometheus type. A panel that
 * names anything else is a typo.
 */
export const EXPORTED_METRIC_FAMILIES: Record<string, 'counter' | 'gauge' | 'histogram'> = {
  magure_http_requests_total: 'counter',
  magure_http_request_duration_seconds: 'histogram',
  magure_http_requests_in_progress: 'gauge',
  magure_agent_executions_total: 'counter',
  magure_agent_execution_duration_seconds: 'histogram',
  magure_agent_tool_calls_total: 'counter',
  magure_llm_requests_total: 'counter',
  magure_llm_request_duration_seconds: 'histogram',
  magure_llm_tokens_total: 'counter',
  magure_llm_cost_cents_total: 'counter',
  magure_llm_unpriced_calls_total: 'counter',
  magure_workflow_executions_total: 'counter',
  magure_workflow_duration_seconds: 'histogram',
  magure_workflows_active: 'gauge',
  magure_monitoring_errors_total: 'counter',
  // prom-client default metrics (no prefix).
  process_cpu_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  nodejs_heap_size_used_bytes: 'gauge',
  nodejs_heap_size_total_bytes: 'gauge',
  nodejs_eventloop_lag_p99_seconds: 'gauge',
  nodejs_gc_duration_seconds: 'histogram',
};

/**
 * Pending metric families: named by the design of the analytics write queue, the database pool
 * gauge and the Loki shipper, which the test app may not export yet. A panel whose query reads one
 * of them may return no data ONLY while the running app does not export that family (the test
 * checks Prometheus' target metadata and prints which ones were allowed). As soon as the app
 * exports a family, every panel on it must return data like any other. Remove entries when the
 * families are exported by the app in test/ops/support/ops-demo-app.ts.
 */
export const PENDING_METRIC_FAMILIES: Record<string, 'counter' | 'gauge' | 'histogram'> = {
  magure_analytics_queue_depth: 'gauge',
  magure_analytics_rows_written_total: 'counter',
  magure_analytics_rows_dropped_total: 'counter',
  magure_analytics_flush_duration_seconds: 'histogram',
  magure_analytics_flush_failures_total: 'counter',
  magure_db_pool_connections: 'gauge',
  magure_log_lines_dropped_total: 'counter',
  magure_log_shipping_failures_total: 'counter',
};

/** Histogram families (their `_bucket`, `_sum` and `_count` series belong to them). */
export const HISTOGRAM_FAMILIES: ReadonlySet<string> = new Set(
  Object.entries({ ...EXPORTED_METRIC_FAMILIES, ...PENDING_METRIC_FAMILIES })
    .filter(([, type]) => type === 'histogram')
    .map(([name]) => name),
);

/** Every family a query may name, plus Prometheus' own `up`. */
export const KNOWN_METRIC_FAMILIES: ReadonlySet<string> = new Set([
  ...Object.keys(EXPORTED_METRIC_FAMILIES),
  ...Object.keys(PENDING_METRIC_FAMILIES),
  'up',
]);
