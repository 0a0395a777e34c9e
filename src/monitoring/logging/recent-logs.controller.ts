import { Controller, Get, Inject, Query } from '@nestjs/common';
import { RecentLogsService, type RecentLogsResponse } from './recent-logs.service';
import { parseRecentLogsQuery } from './recent-logs.query';

/**
 * Path prefix of the analytics REST API, under which the recent-logs route is served.
 * One constant so the prefix changes in one place.
 */
export const ANALYTICS_API_PREFIX = 'api/analytics';

/**
 * `GET /api/analytics/recent-logs?limit=50&level=error`: the most recent log lines, newest first,
 * from Loki when it is enabled, else from the in-process buffer. Query parameters: `limit`
 * (1..1000, default 50), `level` (lowest level: trace|debug|info|warn|error|fatal), `agent_id`,
 * `workflow_id`, `request_id`, `contains` (substring of the line), and a time range: `from` / `to`
 * (ISO 8601) or `hours` back from `to` (default 24). Invalid parameters get a 400 naming them;
 * an unreachable Loki a 503.
 */
@Controller(ANALYTICS_API_PREFIX)
export class RecentLogsController {
  constructor(@Inject(RecentLogsService) private readonly recentLogs: RecentLogsService) {}

  @Get('recent-logs')
  recent(@Query() query: Record<string, unknown>): Promise<RecentLogsResponse> {
    return this.recentLogs.find(parseRecentLogsQuery(query));
  }
}
