import type { Provider, Type } from '@nestjs/common';
import { MONITORING_OPTIONS } from '../../monitoring.constants';
import type { MonitoringOptions } from '../../monitoring-options.interface';
import { createAnalyticsUiController } from '../ui/analytics-ui.controller';
import type { AnalyticsSqlRunner } from './analytics-aggregate.query';
import { ANALYTICS_SQL_RUNNER } from './analytics-api.constants';
import { AnalyticsAccessPolicy, AnalyticsApiEnabledGuard, AnalyticsAuthGuard, MetricsAuthGuard } from './analytics-auth.guard';
import { AnalyticsQueryService } from './analytics-query.service';
import { createAnalyticsController } from './analytics.controller';

/** Route settings fixed when the module is built (before `forRootAsync` factories run). */
export interface AnalyticsRouteSettings {
  apiPrefix: string;
  uiPath: string;
}

/** The analytics API controllers of one module instance. */
export function createAnalyticsApiControllers(routes: AnalyticsRouteSettings): Type<unknown>[] {
  return [createAnalyticsController(routes.apiPrefix), createAnalyticsUiController(routes.uiPath, routes.apiPrefix)];
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
      useFactory: (): AnalyticsSqlRunner | null => null,
    },
    {
      provide: AnalyticsQueryService,
      inject: [ANALYTICS_SQL_RUNNER, MONITORING_OPTIONS],
      useFactory: (runner: AnalyticsSqlRunner | null, options: MonitoringOptions) =>
        new AnalyticsQueryService(runner, { cacheSize: options.analyticsQueryCacheSize }),
    },
  ];
}
