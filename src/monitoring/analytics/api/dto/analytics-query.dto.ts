import { ApiProperty, ApiPropertyOptional } from '../../../openapi/openapi.decorators';
import { Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidatorConstraint,
  Validate,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { MAX_RANGE_HOURS, parseIsoInstant } from '../analytics-range';

/*
 * Query parameters of the analytics reports. Query strings arrive as strings (or arrays when a
 * parameter is repeated); numbers are converted only when they are plain digit strings, so
 * `1e3`, `0x10`, ` 7` or `hours=1&hours=2` are refused instead of being coerced. Unknown
 * parameters are refused by the controller's ValidationPipe (`forbidNonWhitelisted`), so a
 * filter that does not apply to a report is reported instead of silently ignored.
 */

/** Most items a `limit` may ask for. */
export const MAX_LIMIT = 1000;

/** Keeps digit strings as numbers and everything else as NaN, which the validators refuse. */
export function strictInteger({ value }: { value: unknown }): unknown {
  if (value === undefined || value === null) return value;
  return typeof value === 'string' && /^\d{1,12}$/.test(value) ? Number(value) : Number.NaN;
}

const HOURS_MESSAGE = `hours must be an integer from 1 to ${MAX_RANGE_HOURS}`;
export const LIMIT_MESSAGE = `limit must be an integer from 1 to ${MAX_LIMIT}`;
const INSTANT_EXAMPLE = 'e.g. 2025-01-31 or 2025-01-31T00:00:00Z';

@ValidatorConstraint({ name: 'isIsoInstant' })
class IsIsoInstantConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return parseIsoInstant(value) !== null;
  }
  defaultMessage(args?: ValidationArguments): string {
    return `${args?.property ?? 'value'} must be an ISO 8601 date or date-time with a time zone (${INSTANT_EXAMPLE})`;
  }
}

// Ids are free text up to 1,024 characters (the length the ingest keeps); control characters are
// refused because PostgreSQL rejects NUL in text and nothing legitimate carries them.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const ID_PATTERN = /^[^\u0000-\u001f\u007f]{1,1024}$/u;
const idMessage = (name: string) => `${name} must be a string of 1 to 1024 characters without control characters`;

export function IdFilter(name: string, description: string): PropertyDecorator {
  return (target, key) => {
    ApiPropertyOptional({ description, maxLength: 1024 })(target, key);
    IsOptional()(target, key);
    IsString({ message: idMessage(name) })(target, key);
    Matches(ID_PATTERN, { message: idMessage(name) })(target, key);
  };
}

/** `hours`, `from`, `to`: the range every report covers. */
export class RangeQueryDto {
  @ApiPropertyOptional({
    description:
      'Length of the range in hours, ending now (or at `to`). Default 24. Cannot be combined with `from`.',
    type: 'integer',
    minimum: 1,
    maximum: MAX_RANGE_HOURS,
    example: 24,
  })
  @IsOptional()
  @Transform(strictInteger)
  @IsInt({ message: HOURS_MESSAGE })
  @Min(1, { message: HOURS_MESSAGE })
  @Max(MAX_RANGE_HOURS, { message: HOURS_MESSAGE })
  hours?: number;

  @ApiPropertyOptional({
    description: `Start of the range (inclusive), ISO 8601 with a time zone (${INSTANT_EXAMPLE}); a date alone is UTC midnight.`,
    example: '2025-01-31T00:00:00Z',
  })
  @IsOptional()
  @Validate(IsIsoInstantConstraint)
  from?: string;

  @ApiPropertyOptional({
    description: 'End of the range (exclusive), ISO 8601 with a time zone. Default: now.',
    example: '2025-02-01T00:00:00Z',
  })
  @IsOptional()
  @Validate(IsIsoInstantConstraint)
  to?: string;
}

/** Range plus the filters that apply to LLM calls. */
export class LlmFiltersQueryDto extends RangeQueryDto {
  @IdFilter('provider', 'Only calls to this provider (e.g. openai).')
  provider?: string;

  @IdFilter('model', 'Only calls to this model (e.g. gpt-4o).')
  model?: string;

  @IdFilter('agent_id', 'Only calls made inside this agent.')
  agent_id?: string;

  @IdFilter('workflow_id', 'Only calls made inside this workflow.')
  workflow_id?: string;

  @IdFilter('tenant_id', 'Only calls attributed to this tenant.')
  tenant_id?: string;

  @IdFilter('user_id', 'Only calls attributed to this user.')
  user_id?: string;
}

/** `GET …/token-usage`. */
export class TokenUsageQueryDto extends LlmFiltersQueryDto {}

/** `GET …/costs`. */
export class CostsQueryDto extends LlmFiltersQueryDto {}

/** `GET …/costs/by-tenant` and `…/costs/by-user`. */
export class TopCostsQueryDto extends LlmFiltersQueryDto {
  @ApiPropertyOptional({ description: 'Number of items (highest cost first). Default 10.', type: 'integer', minimum: 1, maximum: MAX_LIMIT })
  @IsOptional()
  @Transform(strictInteger)
  @IsInt({ message: LIMIT_MESSAGE })
  @Min(1, { message: LIMIT_MESSAGE })
  @Max(MAX_LIMIT, { message: LIMIT_MESSAGE })
  limit?: number;
}

/** Metrics a time series can plot. */
export const TIMESERIES_METRICS = ['cost', 'tokens', 'calls', 'errors'] as const;
export type TimeseriesMetric = (typeof TIMESERIES_METRICS)[number];
/** Bucket sizes of a time series. */
export const TIMESERIES_BUCKETS = ['hour', 'day'] as const;
export type TimeseriesBucket = (typeof TIMESERIES_BUCKETS)[number];

/** `GET …/timeseries`. */
export class TimeseriesQueryDto extends LlmFiltersQueryDto {
  @ApiProperty({
    description:
      'What to plot: cost (cents), tokens (prompt + completion), calls (LLM calls), errors (failed LLM calls).',
    enum: TIMESERIES_METRICS,
  })
  @IsIn(TIMESERIES_METRICS, { message: `metric must be one of: ${TIMESERIES_METRICS.join(', ')}` })
  metric!: TimeseriesMetric;

  @ApiPropertyOptional({ description: 'Bucket size (UTC). Default hour.', enum: TIMESERIES_BUCKETS })
  @IsOptional()
  @IsIn(TIMESERIES_BUCKETS, { message: `bucket must be one of: ${TIMESERIES_BUCKETS.join(', ')}` })
  bucket?: TimeseriesBucket;
}

/** `GET …/summary`: filters that apply to LLM calls, agent runs and workflow runs alike. */
export class SummaryQueryDto extends RangeQueryDto {
  @IdFilter('workflow_id', 'Only activity inside this workflow.')
  workflow_id?: string;

  @IdFilter('tenant_id', 'Only activity attributed to this tenant.')
  tenant_id?: string;
}

/** `GET …/agent-success-rate`. */
export class AgentSuccessRateQueryDto extends RangeQueryDto {
  @IdFilter('agent_id', 'The agent (all agents when absent).')
  agent_id?: string;

  @IdFilter('agent_type', 'Only agents of this type.')
  agent_type?: string;

  @IdFilter('workflow_id', 'Only executions inside this workflow.')
  workflow_id?: string;

  @IdFilter('tenant_id', 'Only executions attributed to this tenant.')
  tenant_id?: string;
}

/** Orders of the agent leaderboard. */
export const AGENT_SORTS = ['executions', 'success_rate', 'latency', 'cost'] as const;
export type AgentSort = (typeof AGENT_SORTS)[number];
export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

/** `GET …/agents`. */
export class AgentsQueryDto extends RangeQueryDto {
  @IdFilter('agent_type', 'Only agents of this type.')
  agent_type?: string;

  @IdFilter('workflow_id', 'Only executions inside this workflow.')
  workflow_id?: string;

  @IdFilter('tenant_id', 'Only executions attributed to this tenant.')
  tenant_id?: string;

  @ApiPropertyOptional({
    description: 'Ranking: executions, success_rate, latency (p95) or cost. Default executions.',
    enum: AGENT_SORTS,
  })
  @IsOptional()
  @IsIn(AGENT_SORTS, { message: `sort must be one of: ${AGENT_SORTS.join(', ')}` })
  sort?: AgentSort;

  @ApiPropertyOptional({ description: 'Sort direction. Default desc.', enum: SORT_ORDERS })
  @IsOptional()
  @IsIn(SORT_ORDERS, { message: `order must be one of: ${SORT_ORDERS.join(', ')}` })
  order?: SortOrder;

  @ApiPropertyOptional({ description: 'Number of agents. Default 100.', type: 'integer', minimum: 1, maximum: MAX_LIMIT })
  @IsOptional()
  @Transform(strictInteger)
  @IsInt({ message: LIMIT_MESSAGE })
  @Min(1, { message: LIMIT_MESSAGE })
  @Max(MAX_LIMIT, { message: LIMIT_MESSAGE })
  limit?: number;
}

export const WORKFLOW_STATUSES = ['completed', 'failed', 'timeout'] as const;
export type WorkflowStatusFilter = (typeof WORKFLOW_STATUSES)[number];

/** `GET …/workflows`. */
export class WorkflowsQueryDto extends RangeQueryDto {
  @IdFilter('workflow_id', 'Only this workflow.')
  workflow_id?: string;

  @IdFilter('tenant_id', 'Only runs attributed to this tenant.')
  tenant_id?: string;

  @ApiPropertyOptional({ description: 'Only runs that ended with this status.', enum: WORKFLOW_STATUSES })
  @IsOptional()
  @IsIn(WORKFLOW_STATUSES, { message: `status must be one of: ${WORKFLOW_STATUSES.join(', ')}` })
  status?: WorkflowStatusFilter;

  @ApiPropertyOptional({ description: 'Number of workflows (most runs first). Default 100.', type: 'integer', minimum: 1, maximum: MAX_LIMIT })
  @IsOptional()
  @Transform(strictInteger)
  @IsInt({ message: LIMIT_MESSAGE })
  @Min(1, { message: LIMIT_MESSAGE })
  @Max(MAX_LIMIT, { message: LIMIT_MESSAGE })
  limit?: number;
}
