export { MonitoringModule } from './monitoring.module';
export { setupMonitoring, type SetupMonitoringOptions, type MonitoringSetup } from './monitoring.setup';
export type { MonitoringModuleOptions, MonitoringModuleAsyncOptions, MonitoringOptions, MonitoredRequest } from './monitoring-options.interface';
export { MonitoringOptionsError, resolveMonitoringOptions } from './monitoring-options.resolver';
export { MONITORING_OPTIONS, MONITORING_REGISTRY } from './monitoring.constants';
export { TrackLLM, type TrackLlmOptions } from './instrumentation/track-llm.decorator';
export { TrackAgent, type TrackAgentOptions } from './instrumentation/track-agent.decorator';
export { TrackWorkflow, type TrackWorkflowOptions, isTimeoutError } from './instrumentation/track-workflow.decorator';
export { TrackTool, type TrackToolOptions } from './instrumentation/track-tool.decorator';
export type { Extractor } from './instrumentation/identity';
export { MonitoringContext, type PrincipalIds } from './context/monitoring-context';
export { EventFanOut } from './events/event-fan-out';
export type { MonitoringSink } from './events/monitoring-sink.interface';
export {
  type MonitoringEvent,
  type MonitoringEventKind,
  type LlmCallEvent,
  type AgentExecutionEvent,
  type ToolCallEvent,
  type WorkflowRunEvent,
  type WorkflowStatus,
  type HttpRequestEvent,
  type TokenUsage,
  type ContextSnapshot,
  type EventError,
  type OperationStart,
  type InFlightHttpRequest,
  nanoCentsToCents,
  formatNanoCentsAsCents,
  NANO_CENTS_PER_CENT,
  isUsageMissing,
  isUnpriced,
} from './events/monitoring-event';
export { validateUsage, MAX_TOKENS_PER_CALL, USAGE_ISSUES, type UsageIssue, type ValidatedUsage } from './llm-usage/usage-validation';
export { CostCalculator, type CostCalculatorOptions, type PriceSource } from './cost/cost-calculator';
export { DEFAULT_PRICING, type ModelPrice } from './cost/pricing-table';
export { readUsage, StreamUsageAccumulator } from './llm-usage/llm-response-reader';
export type { LogDestination, LogLevelName } from './monitoring-options.interface';
export { LogPipeline } from './logging/log-pipeline';
export { LOG_EVENT_NAMES } from './logging/log.sink';
export { ANALYTICS_API_PREFIX } from './logging/recent-logs.controller';
export type { RecentLogEntry, RecentLogsResponse } from './logging/recent-logs.service';
export { REDACTED } from './logging/secret-redaction';
export { AnalyticsAuthGuard } from './analytics/api/analytics-auth.guard';
export { AnalyticsQueryService, type AnalyticsQueryServiceOptions } from './analytics/api/analytics-query.service';
export type { AnalyticsSqlRunner } from './analytics/api/analytics-aggregate.query';
export {
  setupAnalyticsOpenApi,
  type AnalyticsOpenApiOptions,
  type AnalyticsOpenApiDocument,
} from './analytics/api/analytics-openapi';
export { SwaggerMissingError } from './openapi/swagger-missing.error';
export * from './analytics/api/dto/analytics-response.dto';
export {
  TIMESERIES_METRICS,
  TIMESERIES_BUCKETS,
  AGENT_SORTS,
  type TimeseriesMetric,
  type TimeseriesBucket,
  type AgentSort,
} from './analytics/api/dto/analytics-query.dto';
export { AnalyticsDatabase, type AnalyticsDatabaseSettings, type PoolStats } from './analytics/database/analytics-database';
export { HourlyAggregator, type AggregationResult } from './analytics/aggregation/hourly-aggregator.service';
export {
  LATENCY_BUCKETS_MS,
  LATENCY_BUCKET_COUNT,
  latencyBucketIndex,
  sumLatencyBuckets,
  quantileFromLatencyBuckets,
} from './analytics/latency-buckets';
export {
  ANALYTICS_ENTITIES,
  LlmUsage,
  AgentExecution,
  WorkflowAnalytics,
  LlmUsageHourly,
  LlmUsageHourlyByModel,
  LlmUsageHourlyByPrincipal,
  AgentExecutionHourly,
  WorkflowAnalyticsHourly,
  AnalyticsAggregationState,
} from './analytics/entities';
export { MonitoringReadiness, SHUTTING_DOWN_MESSAGE } from './lifecycle/monitoring-readiness';
