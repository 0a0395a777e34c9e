import { Controller, Get, Header, Inject, Param, Query, UseGuards, UsePipes, type Type } from '@nestjs/common';
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
import { AnalyticsRunsService } from './analytics-runs.service';
import { ANALYTICS_API_TAG, createAnalyticsValidationPipe } from './analytics.controller';
import { AnalyticsErrorDto } from './dto/analytics-response.dto';
import {
  RequestParamsDto,
  RunParamsDto,
  RunsQueryDto,
  RunsResponseDto,
  RunTreeResponseDto,
} from './dto/analytics-runs.dto';

/**
 * Runs as traces, mounted at `prefix` beside the reports: the runs list, one run as a tree, one
 * request as a tree. Same access rule and validation as the reports.
 */
export function createAnalyticsRunsController(prefix: string): Type<unknown> {
  @ApiTags(ANALYTICS_API_TAG)
  @ApiBearerAuth()
  @ApiBadRequestResponse({ type: AnalyticsErrorDto, description: 'Invalid parameter; the message names it.' })
  @ApiUnauthorizedResponse({ type: AnalyticsErrorDto, description: 'Missing or wrong bearer token (when configured).' })
  @ApiForbiddenResponse({ type: AnalyticsErrorDto, description: 'Refused by the configured analyticsGuard.' })
  @ApiServiceUnavailableResponse({ type: AnalyticsErrorDto, description: 'The analytics database is unavailable.' })
  @Controller(prefix)
  @UseGuards(AnalyticsApiEnabledGuard, AnalyticsAuthGuard)
  @UsePipes(createAnalyticsValidationPipe())
  class AnalyticsRunsController {
    constructor(@Inject(AnalyticsRunsService) private readonly runs: AnalyticsRunsService) {}

    @Get('runs')
    @Header('Cache-Control', 'no-store')
    @ApiOperation({ summary: 'Workflow runs and top-level agent runs, newest first, a page at a time' })
    @ApiOkResponse({ type: RunsResponseDto })
    @ApiNotFoundResponse({ description: 'The analytics API is disabled.' })
    list(@Query() query: RunsQueryDto): Promise<RunsResponseDto> {
      return this.runs.runs(query);
    }

    @Get('runs/:id')
    @Header('Cache-Control', 'no-store')
    @ApiOperation({ summary: 'One run as a tree: every agent, LLM call and tool with timing, status, tokens and cost' })
    @ApiOkResponse({ type: RunTreeResponseDto })
    @ApiNotFoundResponse({ type: AnalyticsErrorDto, description: 'No such run (or the analytics API is disabled).' })
    run(@Param() params: RunParamsDto): Promise<RunTreeResponseDto> {
      return this.runs.run(params.id);
    }

    @Get('requests/:requestId')
    @Header('Cache-Control', 'no-store')
    @ApiOperation({ summary: 'Every workflow, agent, LLM call and tool of one HTTP request, as a tree' })
    @ApiOkResponse({ type: RunTreeResponseDto })
    @ApiNotFoundResponse({ type: AnalyticsErrorDto, description: 'Nothing recorded for that request.' })
    request(@Param() params: RequestParamsDto): Promise<RunTreeResponseDto> {
      return this.runs.request(params.requestId);
    }
  }
  return AnalyticsRunsController;
}
