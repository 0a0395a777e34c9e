import { Controller, Get, Inject, Query, UseGuards, type Type } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '../openapi/openapi.decorators';
import { AnalyticsApiEnabledGuard, AnalyticsAuthGuard } from '../analytics/api/analytics-auth.guard';
import { RecentLogsService, type RecentLogsResponse } from './recent-logs.service';
import { parseRecentLogsQuery } from './recent-logs.query';

/** Default path prefix of the analytics REST API, under which the recent-logs route is served. */
export const ANALYTICS_API_PREFIX = 'api/analytics';

/**
 * Creates the `GET <analyticsApiPrefix>/recent-logs?limit=50&level=error` controller: the most
 * recent log lines, newest first, from Loki when it is enabled, else from the in-process buffer.
 * Query parameters: `limit` (1..1000, default 50), `level` (lowest level:
 * trace|debug|info|warn|error|fatal), `agent_id`, `workflow_id`, `request_id`, `contains`
 * (substring of the line), and a time range: `from` / `to` (ISO 8601) or `hours` back from `to`
 * (default 24). Invalid or unknown parameters get a 400 naming them; an unreachable Loki a 503;
 * with `analyticsApiEnabled: false` the route answers 404. The
 * analytics access rule (bearer token or guard) applies, as on the other analytics routes.
 */
export function createRecentLogsController(prefix: string): Type<unknown> {
  @ApiTags('analytics')
  @ApiBearerAuth('bearer')
  // The analytics switch covers this route too (404 when the API is off).
  @UseGuards(AnalyticsApiEnabledGuard, AnalyticsAuthGuard)
  @Controller(prefix.replace(/^\/+/, ''))
  class RecentLogsController {
    constructor(@Inject(RecentLogsService) readonly recentLogs: RecentLogsService) {}

    @Get('recent-logs')
    @ApiOperation({
      summary: 'Most recent log lines, newest first (Loki, or the in-process buffer)',
    })
    @ApiQuery({ name: 'limit', required: false, type: Number, description: '1..1000, default 50' })
    @ApiQuery({
      name: 'level',
      required: false,
      enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'],
    })
    @ApiQuery({ name: 'agent_id', required: false, type: String })
    @ApiQuery({ name: 'workflow_id', required: false, type: String })
    @ApiQuery({ name: 'request_id', required: false, type: String })
    @ApiQuery({ name: 'contains', required: false, type: String })
    @ApiQuery({ name: 'from', required: false, type: String, description: 'ISO 8601' })
    @ApiQuery({ name: 'to', required: false, type: String, description: 'ISO 8601' })
    @ApiQuery({ name: 'hours', required: false, type: Number })
    @ApiOkResponse({
      description:
        '{ source: "loki" | "memory", from, to, count, logs: [{ timestamp, level, message, fields }], warning? }',
    })
    @ApiBadRequestResponse({ description: 'A parameter is invalid; the message names it' })
    @ApiUnauthorizedResponse({ description: 'A bearer token is configured and missing or wrong' })
    @ApiServiceUnavailableResponse({ description: 'Loki is enabled but unreachable' })
    recent(@Query() query: Record<string, unknown>): Promise<RecentLogsResponse> {
      return this.recentLogs.find(parseRecentLogsQuery(query));
    }
  }
  return RecentLogsController;
}
