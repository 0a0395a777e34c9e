import type { Provider, Type } from '@nestjs/common';
import { MONITORING_OPTIONS } from '../../monitoring.constants';
import type { MonitoringOptions } from '../../monitoring-options.interface';
import { AnalyticsDatabase } from '../database/analytics-database';
import { createAnalyticsUiController } from '../ui/analytics-ui.controller';
import type { AnalyticsSqlRunner } from './analytics-aggregate.query';
import { ANALYTICS_SQL_RUNNER } from './analytics-api.constants';
import { AnalyticsAccessPolicy, AnalyticsApiEnabledGuard, AnalyticsAuthGuard, MetricsAuthGuard } from './analytics-auth.guard';
import { AnalyticsQueryService } from './analytics-query.service';
import { AnalyticsRunsService } from './analytics-runs.service';
import { createAnalyticsRunsController } from './analytics-runs.controller';
import { createAnalyticsController } from './analytics.controller';

/**
 * Reads through the module's analytics connection. While it is not (yet) connected, queries fail
 * at once (the reports answer 503) instead of waiting for the connection.
 */
export function analyticsDatabaseRunner(database: AnalyticsDatabase): AnalyticsSqlRunner {
  return {
    query: (sql, parameters) => {
      const source = database.dataSource;
      if (!source) return Promise.reject(new Error('analytics database is not connected'));
      return source.query(sql, parameters);
    },
  };
}

/** Route settings fixed when the module is built (before `forRootAsync` factories run). */
export interface AnalyticsRouteSettings {
  apiPrefix: string;
  uiPath: string;
}

/** The analytics API controllers of one module instance. */
export function createAnalyticsApiControllers(routes: AnalyticsRouteSettings): Type<unknown>[] {
  return [
    createAnalyticsController(routes.apiPrefix),
    createAnalyticsRunsController(routes.apiPrefix),
    createAnalyticsUiController(routes.uiPath, routes.apiPrefix),
  ];
}

/** Providers of the analytics API: the query service, its connection and the access guards. */
export function createAnalyticsApiProviders(): Provider[] {
  return [
    AnalyticsAccessPolicy,
    AnalyticsAuthGuard,
    MetricsAuthGuard,
    AnalyticsApiEnabledGuard,
    {
      provide: ANALYTICS_SQL_RUNNER,
      inject: [{ token: AnalyticsDatabase, optional: true }],
      useFactory: (database: AnalyticsDatabase | null | undefined): AnalyticsSqlRunner | null =>
        database ? analyticsDatabaseRunner(database) : null,
    },
    {
      provide: AnalyticsQueryService,
      inject: [ANALYTICS_SQL_RUNNER, MONITORING_OPTIONS],
      useFactory: (runner: AnalyticsSqlRunner | null, options: MonitoringOptions) =>
        new AnalyticsQueryService(runner, {
          cacheSize: options.analyticsQueryCacheSize,
          lookbackHours: options.analyticsAggregationLookbackHours,
        }),
    },
    {
      provide: AnalyticsRunsService,
      inject: [AnalyticsQueryService],
      useFactory: (queries: AnalyticsQueryService) => new AnalyticsRunsService(queries),
    },
  ];
}
