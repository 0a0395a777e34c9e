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
import { AnalyticsSpool } from './ingest/analytics-spool';
import { countPresentRows } from './ingest/analytics-row-presence';
import { MonitoringReadiness } from '../lifecycle/monitoring-readiness';

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
      provide: AnalyticsSpool,
      inject: [MONITORING_OPTIONS, AnalyticsDatabase],
      // Nothing is touched on disk until the lifecycle opens it.
      useFactory: (options: MonitoringOptions, database: AnalyticsDatabase | null) =>
        database && options.analyticsSpoolEnabled
          ? new AnalyticsSpool({
              dir: options.analyticsSpoolDir,
              maxBytes: options.analyticsSpoolMaxBytes,
              fsync: options.analyticsSpoolFsync,
              fsyncIntervalMs: options.analyticsSpoolFsyncIntervalMs,
            })
          : null,
    },
    {
      provide: AnalyticsWriteQueue,
      inject: [MONITORING_OPTIONS, AnalyticsDatabase, AnalyticsMetrics, AnalyticsSpool],
      useFactory: (
        options: MonitoringOptions,
        database: AnalyticsDatabase | null,
        metrics: AnalyticsMetrics | null,
        spool: AnalyticsSpool | null,
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
          spool ?? undefined,
          (table, ids) => countPresentRows(database, table, ids),
        );
        metrics.watchQueue(() => queue.depth);
        if (spool) metrics.watchSpool(() => spool.bytes);
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
      inject: [
        MONITORING_OPTIONS,
        AnalyticsDatabase,
        AnalyticsWriteQueue,
        HourlyAggregator,
        AnalyticsSpool,
        { token: MonitoringReadiness, optional: true },
      ],
      useFactory: (
        options: MonitoringOptions,
        database: AnalyticsDatabase | null,
        queue: AnalyticsWriteQueue | null,
        aggregator: HourlyAggregator | null,
        spool: AnalyticsSpool | null,
        readiness: MonitoringReadiness | undefined,
      ) =>
        database && queue && aggregator
          ? new AnalyticsLifecycle(
              database,
              queue,
              aggregator,
              Math.min(options.analyticsShutdownTimeoutMs, options.shutdownTimeoutMs),
              spool ?? undefined,
              readiness,
            )
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
