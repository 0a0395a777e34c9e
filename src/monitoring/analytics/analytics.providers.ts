import type { FactoryProvider } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { Registry } from 'prom-client';
import { MONITORING_OPTIONS, MONITORING_REGISTRY } from '../monitoring.constants';
import type { MonitoringOptions } from '../monitoring-options.interface';
import { HourlyAggregator } from './aggregation/hourly-aggregator.service';
import { AnalyticsLifecycle } from './analytics-lifecycle';
import { AnalyticsMetrics } from './analytics.metrics';
import { AnalyticsSink } from './analytics.sink';
import { AnalyticsDatabase } from './database/analytics-database';
import { PgBatchWriter } from './ingest/analytics-batch-writer';
import { AnalyticsWriteQueue } from './ingest/analytics-write-queue';

/**
 * The analytics part of the module. Each provider resolves to null when `analyticsEnabled` is
 * false, so a disabled pipeline opens no connection and registers no metric.
 */
export function createAnalyticsProviders(): FactoryProvider[] {
  return [
    {
      provide: AnalyticsDatabase,
      inject: [MONITORING_OPTIONS],
      useFactory: (options: MonitoringOptions) =>
        options.analyticsEnabled
          ? new AnalyticsDatabase({
              databaseUrl: options.databaseUrl,
              embeddedDatabaseDir: options.embeddedDatabaseDir,
              runMigrations: options.analyticsRunMigrations,
              poolSize: options.databasePoolSize,
            })
          : null,
    },
    {
      provide: AnalyticsMetrics,
      inject: [MONITORING_REGISTRY, MONITORING_OPTIONS, AnalyticsDatabase],
      useFactory: (
        registry: Registry,
        options: MonitoringOptions,
        database: AnalyticsDatabase | null,
      ) => {
        if (!database) return null;
        const metrics = new AnalyticsMetrics(registry, options.metricsPrefix);
        metrics.watchPool(() => database.poolStats());
        return metrics;
      },
    },
    {
      provide: AnalyticsWriteQueue,
      inject: [MONITORING_OPTIONS, AnalyticsDatabase, AnalyticsMetrics],
      useFactory: (
        options: MonitoringOptions,
        database: AnalyticsDatabase | null,
        metrics: AnalyticsMetrics | null,
      ) => {
        if (!database || !metrics) return null;
        const queue = new AnalyticsWriteQueue(
          new PgBatchWriter(database),
          {
            capacity: options.analyticsQueueCapacity,
            batchSize: options.analyticsBatchSize,
            flushIntervalMs: options.analyticsFlushIntervalMs,
          },
          metrics,
        );
        metrics.watchQueue(() => queue.depth);
        return queue;
      },
    },
    {
      provide: HourlyAggregator,
      inject: [
        MONITORING_OPTIONS,
        AnalyticsDatabase,
        AnalyticsMetrics,
        { token: SchedulerRegistry, optional: true },
      ],
      useFactory: (
        options: MonitoringOptions,
        database: AnalyticsDatabase | null,
        metrics: AnalyticsMetrics | null,
        scheduler: SchedulerRegistry | undefined,
      ) =>
        database && metrics
          ? new HourlyAggregator(
              database,
              {
                intervalSeconds: options.analyticsAggregationIntervalSeconds,
                lookbackHours: options.analyticsAggregationLookbackHours,
              },
              metrics,
              scheduler,
            )
          : null,
    },
    {
      provide: AnalyticsLifecycle,
      inject: [MONITORING_OPTIONS, AnalyticsDatabase, AnalyticsWriteQueue, HourlyAggregator],
      useFactory: (
        options: MonitoringOptions,
        database: AnalyticsDatabase | null,
        queue: AnalyticsWriteQueue | null,
        aggregator: HourlyAggregator | null,
      ) =>
        database && queue && aggregator
          ? new AnalyticsLifecycle(database, queue, aggregator, options.analyticsShutdownTimeoutMs)
          : null,
    },
  ];
}

/** The analytics sink for `SINK_PROVIDERS`: null when analytics is off. */
export const ANALYTICS_SINK_PROVIDER: FactoryProvider<AnalyticsSink | null> = {
  provide: AnalyticsSink,
  inject: [AnalyticsWriteQueue],
  useFactory: (queue: AnalyticsWriteQueue | null) => (queue ? new AnalyticsSink(queue) : null),
};
