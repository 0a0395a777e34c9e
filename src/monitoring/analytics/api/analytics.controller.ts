import {
  BadRequestException,
  Controller,
  Get,
  Header,
  Inject,
  Query,
  UseGuards,
  UsePipes,
  ValidationPipe,
  type ArgumentMetadata,
  type Type,
  type ValidationError,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '../../openapi/openapi.decorators';
import { AnalyticsApiEnabledGuard, AnalyticsAuthGuard } from './analytics-auth.guard';
import { AnalyticsQueryService } from './analytics-query.service';
import {
  AgentsQueryDto,
  AgentSuccessRateQueryDto,
  CostsQueryDto,
  SummaryQueryDto,
  TimeseriesQueryDto,
  TokenUsageQueryDto,
  TopCostsQueryDto,
  WorkflowsQueryDto,
} from './dto/analytics-query.dto';
import {
  AgentsResponseDto,
  AgentSuccessRateResponseDto,
  AnalyticsErrorDto,
  CostsByTenantResponseDto,
  CostsByUserResponseDto,
  CostsResponseDto,
  SummaryResponseDto,
  TimeseriesResponseDto,
  TokenUsageResponseDto,
  WorkflowsResponseDto,
} from './dto/analytics-response.dto';

/** OpenAPI tag of the analytics routes. */
export const ANALYTICS_API_TAG = 'analytics';

/** Joins the problems of one request in a 400 message. */
const MESSAGE_SEPARATOR = '; ';

// Names class-transformer never copies onto a DTO (so the whitelist check would not see them).
const RESERVED_KEYS = new Set(['__proto__', ...Object.getOwnPropertyNames(Object.prototype)]);

/**
 * The validation the analytics routes run, whatever global pipes the app has (or has not):
 * parameters are converted and checked by the DTOs, unknown parameters are refused (400 naming
 * them), and only the first problem of each parameter is reported. Every 400 of the analytics
 * routes has the same body, `{ statusCode, error, message }` with `message` one string (several
 * problems joined by "; "), as recent-logs answers.
 */
export class AnalyticsValidationPipe extends ValidationPipe {
  constructor() {
    super({
      transform: true,
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      stopAtFirstError: true,
      validationError: { target: false, value: false },
    });
  }

  override createExceptionFactory(): (errors?: ValidationError[]) => unknown {
    return (errors: ValidationError[] = []) =>
      new BadRequestException(this.flattenValidationErrors(errors).join(MESSAGE_SEPARATOR));
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const reserved =
      value !== null && typeof value === 'object' ? Object.keys(value).filter((key) => RESERVED_KEYS.has(key)) : [];
    if (reserved.length === 0) return super.transform(value, metadata);
    const messages = reserved.map((key) => `property ${key} should not exist`);
    try {
      await super.transform(value, metadata);
    } catch (error) {
      const more = error instanceof BadRequestException ? (error.getResponse() as { message?: unknown }).message : undefined;
      if (typeof more === 'string') messages.push(more);
    }
    throw new BadRequestException(messages.join(MESSAGE_SEPARATOR));
  }
}

/** A new instance of the analytics validation pipe. */
export function createAnalyticsValidationPipe(): ValidationPipe {
  return new AnalyticsValidationPipe();
}

/**
 * Creates the analytics REST controller for one module instance, mounted at `prefix`. A class per
 * call because the route prefix is written onto the class (as for the metrics controller).
 */
export function createAnalyticsController(prefix: string): Type<unknown> {
  @ApiTags(ANALYTICS_API_TAG)
  @ApiBearerAuth()
  @ApiBadRequestResponse({ type: AnalyticsErrorDto, description: 'Invalid parameter; the message names it.' })
  @ApiUnauthorizedResponse({ type: AnalyticsErrorDto, description: 'Missing or wrong bearer token (when configured).' })
  @ApiForbiddenResponse({ type: AnalyticsErrorDto, description: 'Refused by the configured analyticsGuard.' })
  @ApiForbiddenResponse({ type: AnalyticsErrorDto, description: 'NODE_ENV is production and no access control is configured.' })
  @ApiNotFoundResponse({ description: 'The analytics API is disabled.' })
  @ApiServiceUnavailableResponse({ type: AnalyticsErrorDto, description: 'The analytics database is unavailable.' })
  @Controller(prefix)
  @UseGuards(AnalyticsApiEnabledGuard, AnalyticsAuthGuard)
  @UsePipes(createAnalyticsValidationPipe())
  class AnalyticsController {
    constructor(@Inject(AnalyticsQueryService) private readonly queries: AnalyticsQueryService) {}

    @Get('summary')
    @Header('Cache-Control', 'no-store')
    @ApiOperation({ summary: 'Widget strip: success rate, tokens, cost, calls and error rate of a range' })
    @ApiOkResponse({ type: SummaryResponseDto })
    summary(@Query() query: SummaryQueryDto): Promise<SummaryResponseDto> {
      return this.queries.summary(query);
    }

    @Get('token-usage')
    @Header('Cache-Control', 'no-store')
    @ApiOperation({ summary: 'Prompt, completion and total tokens, overall and by provider / model' })
    @ApiOkResponse({ type: TokenUsageResponseDto })
    tokenUsage(@Query() query: TokenUsageQueryDto): Promise<TokenUsageResponseDto> {
      return this.queries.tokenUsage(query);
    }

    @Get('costs')
    @Header('Cache-Control', 'no-store')
    @ApiOperation({ summary: 'Total cost (exact) and its breakdown by provider and model' })
    @ApiOkResponse({ type: CostsResponseDto })
    costs(@Query() query: CostsQueryDto): Promise<CostsResponseDto> {
      return this.queries.costs(query);
    }

    @Get('costs/by-tenant')
    @Header('Cache-Control', 'no-store')
    @ApiOperation({ summary: 'Cost per tenant, highest first (top `limit`)' })
    @ApiOkResponse({ type: CostsByTenantResponseDto })
    costsByTenant(@Query() query: TopCostsQueryDto): Promise<CostsByTenantResponseDto> {
      return this.queries.costsByTenant(query);
    }

    @Get('costs/by-user')
    @Header('Cache-Control', 'no-store')
    @ApiOperation({ summary: 'Cost per user, highest first (top `limit`)' })
    @ApiOkResponse({ type: CostsByUserResponseDto })
    costsByUser(@Query() query: TopCostsQueryDto): Promise<CostsByUserResponseDto> {
      return this.queries.costsByUser(query);
    }

    @Get('timeseries')
    @Header('Cache-Control', 'no-store')
    @ApiOperation({ summary: 'Zero-filled time series of LLM cost, tokens, calls or errors per hour or day (UTC)' })
    @ApiOkResponse({ type: TimeseriesResponseDto })
    timeseries(@Query() query: TimeseriesQueryDto): Promise<TimeseriesResponseDto> {
      return this.queries.timeseries(query);
    }

    @Get('agent-success-rate')
    @Header('Cache-Control', 'no-store')
    @ApiOperation({ summary: 'Executions, successes, failures, success rate and latency of one agent or all' })
    @ApiOkResponse({ type: AgentSuccessRateResponseDto })
    agentSuccessRate(@Query() query: AgentSuccessRateQueryDto): Promise<AgentSuccessRateResponseDto> {
      return this.queries.agentSuccessRate(query);
    }

    @Get('agents')
    @Header('Cache-Control', 'no-store')
    @ApiOperation({ summary: 'Agent leaderboard: executions, success rate, latency, cost' })
    @ApiOkResponse({ type: AgentsResponseDto })
    agents(@Query() query: AgentsQueryDto): Promise<AgentsResponseDto> {
      return this.queries.agents(query);
    }

    @Get('workflows')
    @Header('Cache-Control', 'no-store')
    @ApiOperation({ summary: 'Workflow runs: status distribution, duration (avg, p95), steps' })
    @ApiOkResponse({ type: WorkflowsResponseDto })
    workflows(@Query() query: WorkflowsQueryDto): Promise<WorkflowsResponseDto> {
      return this.queries.workflows(query);
    }
  }
  return AnalyticsController;
}
