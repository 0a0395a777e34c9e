import { AgentExecutionHourly } from './agent-execution-hourly.entity';
import { AgentExecution } from './agent-execution.entity';
import { AnalyticsAggregationState } from './analytics-aggregation-state.entity';
import { LlmUsageHourlyByModel } from './llm-usage-hourly-by-model.entity';
import { LlmUsageHourlyByPrincipal } from './llm-usage-hourly-by-principal.entity';
import { LlmUsageHourly } from './llm-usage-hourly.entity';
import { LlmUsage } from './llm-usage.entity';
import { ToolCall } from './tool-call.entity';
import { WorkflowAnalyticsHourly } from './workflow-analytics-hourly.entity';
import { WorkflowAnalytics } from './workflow-analytics.entity';

export {
  AgentExecution,
  AgentExecutionHourly,
  AnalyticsAggregationState,
  LlmUsage,
  LlmUsageHourly,
  LlmUsageHourlyByModel,
  LlmUsageHourlyByPrincipal,
  ToolCall,
  WorkflowAnalytics,
  WorkflowAnalyticsHourly,
};

/** Every entity of the analytics schema (the tables created by the migrations in `migrations/`). */
export const ANALYTICS_ENTITIES = [
  LlmUsage,
  AgentExecution,
  WorkflowAnalytics,
  ToolCall,
  LlmUsageHourly,
  LlmUsageHourlyByModel,
  LlmUsageHourlyByPrincipal,
  AgentExecutionHourly,
  WorkflowAnalyticsHourly,
  AnalyticsAggregationState,
] as const;
