import {
  Global,
  Inject,
  Module,
  UseGuards,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { HourlyAggregator } from './analytics/aggregation/hourly-aggregator.service';
import { AnalyticsDatabase } from './analytics/database/analytics-database';
import { activateRuntime, deactivateRuntime, MonitoringRuntime } from './instrumentation/monitoring-runtime';
import { HttpInstrumentation } from './instrumentation/http-instrumentation';
import { RequestTrackingMiddleware } from './instrumentation/request-tracking.middleware';
import { createMetricsController } from './metrics/metrics.controller';
import { MONITORING_MODULE_OPTIONS, MONITORING_OPTIONS, MONITORING_REGISTRY } from './monitoring.constants';
import type { MonitoringModuleAsyncOptions, MonitoringModuleOptions } from './monitoring-options.interface';
import { resolveMonitoringOptions } from './monitoring-options.resolver';
import { createMonitoringProviders } from './monitoring.providers';
import { CostCalculator } from './cost/cost-calculator';
import { EventFanOut } from './events/event-fan-out';
import { LogPipeline } from './logging/log-pipeline';
import { nestjsPinoModule } from './logging/logging.providers';
import { createRecentLogsController } from './logging/recent-logs.controller';
import {
  createAnalyticsApiControllers,
  createAnalyticsApiProviders,
  type AnalyticsRouteSettings,
} from './analytics/api/analytics-api.providers';
import { AnalyticsAccessPolicy, AnalyticsAuthGuard, MetricsAuthGuard } from './analytics/api/analytics-auth.guard';
import { AnalyticsQueryService } from './analytics/api/analytics-query.service';
import { MonitoringReadiness } from './lifecycle/monitoring-readiness';

const EXPORTS = [
  MONITORING_OPTIONS,
  MONITORING_REGISTRY,
  MonitoringRuntime,
  EventFanOut,
  CostCalculator,
  LogPipeline,
  AnalyticsQueryService,
  AnalyticsAccessPolicy,
  AnalyticsAuthGuard,
  AnalyticsDatabase,
  HourlyAggregator,
  MonitoringReadiness,
];

/**
 * Monitoring for AI-agent monoliths. Import once in the root module:
 * `MonitoringModule.forRoot({ appName: 'my-api' })`. Tracks every HTTP request, and every call of
 * methods decorated with `@TrackLLM`, `@TrackAgent`, `@TrackWorkflow` and `@TrackTool`, and sends
 * each to the enabled sinks (Prometheus metrics, logs, PostgreSQL analytics).
 */
@Global()
@Module({})
export class MonitoringModule implements NestModule, OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(MonitoringRuntime) private readonly runtime: MonitoringRuntime,
    @Inject(HttpInstrumentation) private readonly http: HttpInstrumentation,
  ) {}

  /** Configures the module with static options (environment variables fill the gaps). */
  static forRoot(options: MonitoringModuleOptions = {}): DynamicModule {
    // Validate eagerly so a bad option fails at import time with the field's name.
    const resolved = resolveMonitoringOptions(options);
    return MonitoringModule.build(
      [{ provide: MONITORING_MODULE_OPTIONS, useValue: options }],
      [],
      resolved.prometheusEnabled,
      resolved.metricsPath,
      resolved.analyticsApiEnabled
        ? { apiPrefix: resolved.analyticsApiPrefix, uiPath: resolved.analyticsUiPath }
        : undefined,
      resolved.analyticsApiPrefix,
    );
  }

  /**
   * Configures the module from a factory (e.g. with `ConfigService`). The metrics route's path is
   * fixed before the factory runs: it comes from `METRICS_PATH` (default `/metrics`); with
   * `prometheusEnabled: false` the route answers 404.
   */
  static forRootAsync(options: MonitoringModuleAsyncOptions): DynamicModule {
    const fromEnv = resolveMonitoringOptions({});
    return MonitoringModule.build(
      [{ provide: MONITORING_MODULE_OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory }],
      options.imports ?? [],
      true,
      fromEnv.metricsPath,
      { apiPrefix: fromEnv.analyticsApiPrefix, uiPath: fromEnv.analyticsUiPath },
      fromEnv.analyticsApiPrefix,
    );
  }

  private static build(
    optionProviders: DynamicModule['providers'] & object,
    imports: NonNullable<DynamicModule['imports']>,
    serveMetrics: boolean,
    metricsPath: string,
    analyticsRoutes: AnalyticsRouteSettings | undefined,
    recentLogsPrefix: string,
  ): DynamicModule {
    const metricsController = createMetricsController();
    // The analytics access rule, applied only when `protectMetrics` is on.
    UseGuards(MetricsAuthGuard)(metricsController);
    const metricsImports = serveMetrics
      ? [
          PrometheusModule.register({
            path: metricsPath,
            controller: metricsController,
            defaultMetrics: { enabled: false },
          }),
        ]
      : [];
    return {
      module: MonitoringModule,
      global: true,
      // ScheduleModule.forRoot() without options is the same module as a host app's own
      // forRoot() call, so Nest registers it once.
      imports: [...imports, ...metricsImports, nestjsPinoModule(), ScheduleModule.forRoot()],
      controllers: [
        ...(analyticsRoutes ? createAnalyticsApiControllers(analyticsRoutes) : []),
        createRecentLogsController(recentLogsPrefix),
      ],
      providers: [
        ...createAnalyticsApiProviders(),
        ...optionProviders,
        ...createMonitoringProviders(),
        MonitoringReadiness,
        RequestTrackingMiddleware,
        HttpInstrumentation,
      ],
      exports: EXPORTS,
    };
  }

  configure(_consumer: MiddlewareConsumer): void {
    // Express or Fastify: see HttpInstrumentation.
    this.http.configure();
  }

  onModuleInit(): void {
    activateRuntime(this.runtime);
  }

  onApplicationShutdown(): void {
    deactivateRuntime(this.runtime);
  }
}
