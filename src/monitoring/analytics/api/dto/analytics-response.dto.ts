import { ApiProperty, ApiPropertyOptional } from '../../../openapi/openapi.decorators';

/*
 * Response bodies of the analytics reports, documented for OpenAPI. Counts are JSON numbers
 * (exact up to 2^53); money is given both as exact decimal strings and as numbers.
 */

/** An amount of money: exact decimal strings and JSON numbers. */
export class MoneyDto {
  @ApiProperty({ description: 'Exact US cents, 9 decimals.', example: '1250.000000000' })
  cents!: string;
  @ApiProperty({ description: 'Exact US dollars, 11 decimals.', example: '12.50000000000' })
  usd!: string;
  @ApiProperty({ description: 'Cents as a number.', example: 1250 })
  centsValue!: number;
  @ApiProperty({ description: 'Dollars as a number.', example: 12.5 })
  usdValue!: number;
}

/** A half-open time range `[from, to)`. */
export class TimeRangeDto {
  @ApiProperty({ description: 'Start (inclusive), ISO 8601 UTC.', example: '2025-01-31T00:00:00.000Z' })
  from!: string;
  @ApiProperty({ description: 'End (exclusive), ISO 8601 UTC.', example: '2025-02-01T00:00:00.000Z' })
  to!: string;
}

/** Where a report's figures came from: closed hours from the hourly rollup, the rest from raw rows. */
export class ReportSourceDto {
  @ApiProperty({ type: TimeRangeDto, nullable: true, description: 'Whole hours read from the rollup (null: none).' })
  rollup!: TimeRangeDto | null;
  @ApiProperty({ type: [TimeRangeDto], description: 'Pieces read from the raw rows.' })
  raw!: TimeRangeDto[];
}

/** Latency (or duration) statistics in milliseconds. */
export class LatencyStatsDto {
  @ApiProperty({ description: 'Rows with a value.' })
  count!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'Exact mean.' })
  avgMs!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Median (see `percentiles`).' })
  p50Ms!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: '95th percentile (see `percentiles`).' })
  p95Ms!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Exact maximum.' })
  maxMs!: number | null;
  @ApiProperty({
    enum: ['exact', 'interpolated'],
    nullable: true,
    description:
      'exact: percentile_cont over raw rows (the whole range came from raw rows); interpolated: linear interpolation inside the rollup latency buckets; null: no data.',
  })
  percentiles!: 'exact' | 'interpolated' | null;
}

/** Token counts of a set of LLM calls. */
export class TokenCountsDto {
  @ApiProperty() calls!: number;
  @ApiProperty() promptTokens!: number;
  @ApiProperty() completionTokens!: number;
  @ApiProperty({ description: 'promptTokens + completionTokens.' }) totalTokens!: number;
  @ApiProperty({ description: 'Prompt tokens served from the provider cache (part of promptTokens).' })
  cachedTokens!: number;
  @ApiProperty({ description: 'Reasoning tokens (part of completionTokens).' }) reasoningTokens!: number;
}

export class ProviderTokenUsageDto extends TokenCountsDto {
  @ApiProperty() provider!: string;
}

export class ModelTokenUsageDto extends TokenCountsDto {
  @ApiProperty() provider!: string;
  @ApiProperty() model!: string;
}

/** `GET …/token-usage`. */
export class TokenUsageResponseDto {
  @ApiProperty() range!: TimeRangeDto;
  @ApiProperty() source!: ReportSourceDto;
  @ApiProperty() totals!: TokenCountsDto;
  @ApiProperty({ type: [ProviderTokenUsageDto], description: 'Most tokens first.' }) byProvider!: ProviderTokenUsageDto[];
  @ApiProperty({ type: [ModelTokenUsageDto], description: 'Most tokens first.' }) byModel!: ModelTokenUsageDto[];
}

/** Cost of a set of LLM calls. */
export class CostLineDto {
  @ApiProperty({ description: 'Sum of the priced calls.' }) cost!: MoneyDto;
  @ApiProperty() calls!: number;
  @ApiProperty({ description: 'Successful calls with known token usage whose model had no known price (their cost is not in cost).' }) unpricedCalls!: number;
  @ApiProperty({ description: 'Successful calls that reported no token usage: tokens and cost unknown (e.g. OpenAI streams without stream_options.include_usage). Not counted in unpricedCalls.' }) usageMissingCalls!: number;
  @ApiProperty() promptTokens!: number;
  @ApiProperty() completionTokens!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'Fraction (0..1) of the total cost; null when the total is 0.' })
  share!: number | null;
}

export class ProviderCostDto extends CostLineDto {
  @ApiProperty() provider!: string;
}

export class ModelCostDto extends CostLineDto {
  @ApiProperty() provider!: string;
  @ApiProperty() model!: string;
}

/** `GET …/costs`. */
export class CostsResponseDto {
  @ApiProperty() range!: TimeRangeDto;
  @ApiProperty() source!: ReportSourceDto;
  @ApiProperty() total!: MoneyDto;
  @ApiProperty() calls!: number;
  @ApiProperty({ description: 'Successful calls with known token usage whose model had no known price (their cost is not in cost).' }) unpricedCalls!: number;
  @ApiProperty({ description: 'Successful calls that reported no token usage: tokens and cost unknown (e.g. OpenAI streams without stream_options.include_usage). Not counted in unpricedCalls.' }) usageMissingCalls!: number;
  @ApiProperty({ type: [ProviderCostDto], description: 'Highest cost first.' }) byProvider!: ProviderCostDto[];
  @ApiProperty({ type: [ModelCostDto], description: 'Highest cost first.' }) byModel!: ModelCostDto[];
}

export class TenantCostDto extends CostLineDto {
  @ApiProperty({ type: String, nullable: true, description: 'null: calls without a tenant.' }) tenantId!: string | null;
}

export class UserCostDto extends CostLineDto {
  @ApiProperty({ type: String, nullable: true, description: 'null: calls without a user.' }) userId!: string | null;
}

/** `GET …/costs/by-tenant`. */
export class CostsByTenantResponseDto {
  @ApiProperty() range!: TimeRangeDto;
  @ApiProperty() source!: ReportSourceDto;
  @ApiProperty({ description: 'Cost of all tenants (not only the listed ones).' }) total!: MoneyDto;
  @ApiProperty({ description: 'Number of tenants with calls in the range (including the unattributed group).' })
  count!: number;
  @ApiProperty({ type: [TenantCostDto], description: 'Top `limit`, highest cost first.' }) tenants!: TenantCostDto[];
}

/** `GET …/costs/by-user`. */
export class CostsByUserResponseDto {
  @ApiProperty() range!: TimeRangeDto;
  @ApiProperty() source!: ReportSourceDto;
  @ApiProperty({ description: 'Cost of all users (not only the listed ones).' }) total!: MoneyDto;
  @ApiProperty({ description: 'Number of users with calls in the range (including the unattributed group).' })
  count!: number;
  @ApiProperty({ type: [UserCostDto], description: 'Top `limit`, highest cost first.' }) users!: UserCostDto[];
}

/** `GET …/agent-success-rate`. */
export class AgentSuccessRateResponseDto {
  @ApiProperty() range!: TimeRangeDto;
  @ApiProperty() source!: ReportSourceDto;
  @ApiProperty({ type: String, nullable: true, description: 'The agent asked for; null: all agents.' })
  agentId!: string | null;
  @ApiProperty() executions!: number;
  @ApiProperty({ description: 'executions - failures.' }) successes!: number;
  @ApiProperty({ description: 'Executions with success = false.' }) failures!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'successes / executions (0..1); null without executions.' })
  successRate!: number | null;
  @ApiProperty() latency!: LatencyStatsDto;
}

export class TimeseriesPointDto {
  @ApiProperty({ description: 'Bucket start, ISO 8601 UTC.' }) start!: string;
  @ApiProperty({ description: 'Value as a number.' }) value!: number;
  @ApiProperty({ description: 'Exact value as a decimal string (cents with 9 decimals for cost).' }) exact!: string;
}

export class TimeseriesTotalDto {
  @ApiProperty() value!: number;
  @ApiProperty() exact!: string;
}

/** `GET …/timeseries`. */
export class TimeseriesResponseDto {
  @ApiProperty() range!: TimeRangeDto;
  @ApiProperty() source!: ReportSourceDto;
  @ApiProperty({ enum: ['cost', 'tokens', 'calls', 'errors'] }) metric!: string;
  @ApiProperty({ enum: ['hour', 'day'] }) bucket!: string;
  @ApiProperty({ enum: ['cents', 'tokens', 'calls'] }) unit!: string;
  @ApiProperty({ description: 'Sum over the range (equals the sum of the points).' }) total!: TimeseriesTotalDto;
  @ApiProperty({
    type: [TimeseriesPointDto],
    description:
      'One point per UTC bucket overlapping the range, zero-filled; the first and last buckets only count the part inside the range.',
  })
  points!: TimeseriesPointDto[];
}

/** `GET …/summary`: the widget strip. */
export class SummaryResponseDto {
  @ApiProperty() range!: TimeRangeDto;
  @ApiProperty({ type: Number, nullable: true, description: 'Agent executions that did not fail / executions (0..1).' })
  successRate!: number | null;
  @ApiProperty() agentExecutions!: number;
  @ApiProperty() agentFailures!: number;
  @ApiProperty() llmCalls!: number;
  @ApiProperty() llmFailures!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'Failed LLM calls / LLM calls (0..1).' })
  errorRate!: number | null;
  @ApiProperty() promptTokens!: number;
  @ApiProperty() completionTokens!: number;
  @ApiProperty() totalTokens!: number;
  @ApiProperty() cost!: MoneyDto;
  @ApiProperty({ description: 'Successful calls with known token usage whose model had no known price (their cost is not in cost).' }) unpricedCalls!: number;
  @ApiProperty({ description: 'Successful calls that reported no token usage: tokens and cost unknown (e.g. OpenAI streams without stream_options.include_usage). Not counted in unpricedCalls.' }) usageMissingCalls!: number;
  @ApiProperty() workflowRuns!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'Completed runs / runs (0..1).' })
  workflowSuccessRate!: number | null;
}

/** Aggregates of a set of workflow runs. */
export class WorkflowStatsDto {
  @ApiProperty() runs!: number;
  @ApiProperty() completed!: number;
  @ApiProperty() failed!: number;
  @ApiProperty() timeout!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'completed / runs (0..1).' }) successRate!: number | null;
  @ApiProperty() duration!: LatencyStatsDto;
  @ApiProperty() stepsExecuted!: number;
  @ApiProperty() stepsFailed!: number;
  @ApiProperty({ type: Number, nullable: true }) avgStepsPerRun!: number | null;
  @ApiProperty() llmCalls!: number;
  @ApiProperty() tokensUsed!: number;
  @ApiProperty() cost!: MoneyDto;
}

export class WorkflowLineDto extends WorkflowStatsDto {
  @ApiProperty() workflowId!: string;
}

/** `GET …/workflows`. */
export class WorkflowsResponseDto {
  @ApiProperty() range!: TimeRangeDto;
  @ApiProperty() source!: ReportSourceDto;
  @ApiProperty({ description: 'All runs of the range (every workflow).' }) totals!: WorkflowStatsDto;
  @ApiProperty({ description: 'Number of workflows with runs in the range.' }) count!: number;
  @ApiProperty({ type: [WorkflowLineDto], description: 'Top `limit`, most runs first.' }) workflows!: WorkflowLineDto[];
}

export class AgentLineDto {
  @ApiProperty() agentId!: string;
  @ApiProperty() agentType!: string;
  @ApiProperty() executions!: number;
  @ApiProperty() successes!: number;
  @ApiProperty() failures!: number;
  @ApiProperty({ type: Number, nullable: true }) successRate!: number | null;
  @ApiProperty() latency!: LatencyStatsDto;
  @ApiProperty() llmCalls!: number;
  @ApiProperty() toolCalls!: number;
  @ApiProperty() tokensUsed!: number;
  @ApiProperty() cost!: MoneyDto;
}

/** `GET …/agents`: the agent leaderboard. */
export class AgentsResponseDto {
  @ApiProperty() range!: TimeRangeDto;
  @ApiProperty() source!: ReportSourceDto;
  @ApiProperty({ enum: ['executions', 'success_rate', 'latency', 'cost'] }) sort!: string;
  @ApiProperty({ enum: ['asc', 'desc'] }) order!: string;
  @ApiProperty({ description: 'Number of (agent_id, agent_type) pairs with executions in the range.' }) count!: number;
  @ApiProperty({ type: [AgentLineDto], description: 'One line per (agent_id, agent_type).' }) agents!: AgentLineDto[];
}

/** Body of every 4xx answer. */
export class AnalyticsErrorDto {
  @ApiProperty({ example: 400 }) statusCode!: number;
  @ApiProperty({
    example: 'hours must be an integer from 1 to 87600',
    description: 'What is wrong, naming the parameter (several problems are joined by "; ").',
  })
  message!: string;
  @ApiPropertyOptional({ example: 'Bad Request' }) error?: string;
}
