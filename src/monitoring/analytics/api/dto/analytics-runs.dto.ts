import { ApiProperty, ApiPropertyOptional } from '../../../openapi/openapi.decorators';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { ID_PATTERN, IdFilter, LIMIT_MESSAGE, MAX_LIMIT, RangeQueryDto, strictInteger } from './analytics-query.dto';
import { MoneyDto, TimeRangeDto } from './analytics-response.dto';

/** Kinds of run the runs list holds: workflow runs and agent executions outside any workflow or agent. */
export const RUN_KINDS = ['workflow', 'agent'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** Status of a run or of one of its steps. */
export const RUN_STATUSES = ['completed', 'failed', 'timeout'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Kinds of node in a run's tree. */
export const RUN_NODE_KINDS = ['workflow', 'agent', 'llm', 'tool'] as const;
export type RunNodeKind = (typeof RUN_NODE_KINDS)[number];

/** Opaque cursor: base64url of the last run's start and span id. */
export const CURSOR_PATTERN = /^[A-Za-z0-9_-]{16,200}$/;

/** `GET …/runs`: runs that started in the range, newest first. */
export class RunsQueryDto extends RangeQueryDto {
  @ApiPropertyOptional({ enum: RUN_KINDS, description: 'Only workflow runs, or only top-level agent runs.' })
  @IsOptional()
  @IsIn(RUN_KINDS, { message: `kind must be one of: ${RUN_KINDS.join(', ')}` })
  kind?: RunKind;

  @ApiPropertyOptional({ enum: RUN_STATUSES, description: 'Only runs that ended so.' })
  @IsOptional()
  @IsIn(RUN_STATUSES, { message: `status must be one of: ${RUN_STATUSES.join(', ')}` })
  status?: RunStatus;

  @IdFilter('workflow_id', 'Only runs of this workflow (implies kind=workflow).')
  workflow_id?: string;

  @IdFilter('agent_id', 'Only top-level runs of this agent (implies kind=agent).')
  agent_id?: string;

  @IdFilter('tenant_id', 'Only runs attributed to this tenant.')
  tenant_id?: string;

  @IdFilter('user_id', 'Only runs attributed to this user.')
  user_id?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_LIMIT, description: 'Runs per page. Default 50.' })
  @IsOptional()
  @Transform(strictInteger)
  @IsInt({ message: LIMIT_MESSAGE })
  @Min(1, { message: LIMIT_MESSAGE })
  @Max(MAX_LIMIT, { message: LIMIT_MESSAGE })
  limit?: number;

  @ApiPropertyOptional({ description: 'The `nextCursor` of the previous page.' })
  @IsOptional()
  @IsString({ message: 'cursor must be the nextCursor of a previous page' })
  @Matches(CURSOR_PATTERN, { message: 'cursor must be the nextCursor of a previous page' })
  cursor?: string;
}

/** Path parameter of `GET …/runs/:id`. */
export class RunParamsDto {
  @ApiProperty({ description: 'Span id of a workflow run or agent run (from the runs list), or a workflow run id.' })
  @IsString({ message: 'id must be a string of 1 to 1024 characters without control characters' })
  @Matches(ID_PATTERN, {
    message: 'id must be a string of 1 to 1024 characters without control characters',
  })
  id!: string;
}

/** Path parameter of `GET …/requests/:requestId`. */
export class RequestParamsDto {
  @ApiProperty({ description: 'Request id (the X-Request-Id of the request).' })
  @IsString({ message: 'requestId must be a string of 1 to 1024 characters without control characters' })
  @Matches(ID_PATTERN, {
    message: 'requestId must be a string of 1 to 1024 characters without control characters',
  })
  requestId!: string;
}

/** Token counts of a node or a run. */
export class RunTokensDto {
  @ApiProperty() prompt!: number;
  @ApiProperty() completion!: number;
  @ApiProperty() total!: number;
}

/** One run in the runs list. */
export class RunSummaryDto {
  @ApiProperty({ enum: RUN_KINDS }) kind!: RunKind;
  @ApiProperty({ description: 'Span id of the run: the id to open it with.' }) id!: string;
  @ApiProperty({ description: 'Workflow id or agent id.' }) name!: string;
  @ApiPropertyOptional({ description: 'Workflow run id (workflow runs).' }) runId?: string;
  @ApiProperty({ enum: RUN_STATUSES }) status!: RunStatus;
  @ApiProperty({ description: 'Start, ISO 8601 UTC.' }) startedAt!: string;
  @ApiProperty() durationMs!: number;
  @ApiPropertyOptional() errorType?: string;
  @ApiPropertyOptional() errorMessage?: string;
  @ApiProperty() llmCalls!: number;
  @ApiProperty() tokens!: number;
  @ApiProperty({ type: MoneyDto }) cost!: MoneyDto;
  @ApiPropertyOptional() requestId?: string;
  @ApiPropertyOptional({ description: 'W3C trace id (32 hex).' }) traceId?: string;
  @ApiPropertyOptional() tenantId?: string;
  @ApiPropertyOptional() userId?: string;
}

/** `GET …/runs`. */
export class RunsResponseDto {
  @ApiProperty({ type: TimeRangeDto }) range!: TimeRangeDto;
  @ApiProperty({ type: [RunSummaryDto] }) runs!: RunSummaryDto[];
  @ApiPropertyOptional({ description: 'Cursor of the next (older) page; absent on the last page.' })
  nextCursor?: string;
}

/** One step of a run: a workflow run, agent execution, LLM call or tool call, with its children. */
export class RunNodeDto {
  @ApiProperty({ enum: RUN_NODE_KINDS }) kind!: RunNodeKind;
  @ApiProperty({ description: 'Workflow id, agent id, provider/model, or tool name.' }) name!: string;
  @ApiProperty({ description: 'Span id.' }) id!: string;
  @ApiPropertyOptional({ description: 'Span id of the parent step.' }) parentId?: string;
  @ApiProperty({ description: 'Start, ISO 8601 UTC.' }) startedAt!: string;
  @ApiProperty({ description: 'Milliseconds from the start of the run (or request) to the start of this step.' })
  startOffsetMs!: number;
  @ApiProperty() durationMs!: number;
  @ApiProperty({ enum: RUN_STATUSES }) status!: RunStatus;
  @ApiPropertyOptional() errorType?: string;
  @ApiPropertyOptional() errorMessage?: string;
  @ApiProperty({ type: RunTokensDto, description: 'LLM tokens of this step and everything under it.' })
  tokens!: RunTokensDto;
  @ApiProperty({ type: MoneyDto, description: 'Priced LLM cost of this step and everything under it.' })
  cost!: MoneyDto;
  @ApiPropertyOptional({ description: 'LLM calls: provider.' }) provider?: string;
  @ApiPropertyOptional({ description: 'LLM calls: model.' }) model?: string;
  @ApiPropertyOptional({ description: 'LLM calls: false when the model had no known price.' }) priced?: boolean;
  @ApiPropertyOptional({ description: 'Workflow runs: the run id.' }) runId?: string;
  @ApiPropertyOptional({ description: 'Tool calls: characters of the input.' }) inputSize?: number;
  @ApiPropertyOptional({ description: 'Tool calls: characters of the output.' }) outputSize?: number;
  @ApiProperty({ type: () => [RunNodeDto] }) children!: RunNodeDto[];
}

/** Totals of a run: sums over its nodes. */
export class RunTotalsDto {
  @ApiProperty({ type: RunTokensDto }) tokens!: RunTokensDto;
  @ApiProperty({ type: MoneyDto }) cost!: MoneyDto;
  @ApiProperty() llmCalls!: number;
  @ApiProperty() toolCalls!: number;
  @ApiProperty() agentRuns!: number;
  @ApiProperty({ description: 'Steps (agent, LLM and tool nodes) that failed.' }) failedSteps!: number;
  @ApiProperty({ description: 'LLM calls whose model had no known price (not in the cost).' }) unpricedCalls!: number;
}

/** `GET …/runs/:id` and `GET …/requests/:requestId`. */
export class RunTreeResponseDto {
  @ApiPropertyOptional({ description: 'W3C trace id (32 hex).' }) traceId?: string;
  @ApiPropertyOptional() requestId?: string;
  @ApiProperty({ description: 'Start of the first step, ISO 8601 UTC.' }) startedAt!: string;
  @ApiProperty({ description: 'From the first start to the last end, in milliseconds.' }) durationMs!: number;
  @ApiProperty({ enum: RUN_STATUSES, description: 'The root\'s status (a request: failed if any top step failed).' })
  status!: RunStatus;
  @ApiProperty({ type: [RunNodeDto], description: 'The run (one root) or the request\'s top-level steps.' })
  roots!: RunNodeDto[];
  @ApiProperty({ type: RunTotalsDto }) totals!: RunTotalsDto;
}
