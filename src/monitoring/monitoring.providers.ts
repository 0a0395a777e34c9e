import type { FactoryProvider, Provider } from '@nestjs/common';
import { Registry } from 'prom-client';
import { collectProcessMetrics } from './metrics/process-metrics';
import { CostCalculator } from './cost/cost-calculator';
import { EventFanOut } from './events/event-fan-out';
import type { MonitoringSink } from './events/monitoring-sink.interface';
import { MonitoringRuntime } from './instrumentation/monitoring-runtime';
import { LOG_SINK_PROVIDER, LOGGING_PROVIDERS } from './logging/logging.providers';
import { PrometheusMetricsSink } from './metrics/prometheus-metrics.sink';
import { OtelSpanSink } from './tracing/otel-span.sink';
import { OtelTracing } from './tracing/otel-tracing';
import { ANALYTICS_SINK_PROVIDER, createAnalyticsProviders } from './analytics/analytics.providers';
import { MONITORING_MODULE_OPTIONS, MONITORING_OPTIONS, MONITORING_REGISTRY, MONITORING_SINKS } from './monitoring.constants';
import type { MonitoringModuleOptions, MonitoringOptions } from './monitoring-options.interface';
import { resolveMonitoringOptions } from './monitoring-options.resolver';

/**
 * The sinks, in fan-out order. A sink provider resolves to a `MonitoringSink`, or to null when its
 * options turn it off. Adding a sink is one provider here.
 */
export const SINK_PROVIDERS: FactoryProvider<MonitoringSink | null>[] = [
  {
    provide: PrometheusMetricsSink,
    inject: [MONITORING_REGISTRY, MONITORING_OPTIONS, EventFanOut],
    useFactory: (registry: Registry, options: MonitoringOptions, fanOut: EventFanOut) =>
      options.prometheusEnabled ? new PrometheusMetricsSink(registry, options, fanOut) : null,
  },
  LOG_SINK_PROVIDER,
  ANALYTICS_SINK_PROVIDER,
  {
    provide: OtelSpanSink,
    inject: [OtelTracing],
    useFactory: (tracing: OtelTracing | null) => tracing?.sink ?? null,
  },
];

/** Providers shared by `forRoot` and `forRootAsync`; only the source of the raw options differs. */
export function createMonitoringProviders(): Provider[] {
  return [
    {
      provide: MONITORING_OPTIONS,
      inject: [MONITORING_MODULE_OPTIONS],
      useFactory: (options: MonitoringModuleOptions) => resolveMonitoringOptions(options),
    },
    {
      provide: MONITORING_REGISTRY,
      inject: [MONITORING_OPTIONS],
      useFactory: (options: MonitoringOptions) => {
        const registry = new Registry();
        if (options.prometheusEnabled && options.defaultMetricsEnabled) collectProcessMetrics(registry);
        return registry;
      },
    },
    {
      provide: CostCalculator,
      inject: [MONITORING_OPTIONS],
      useFactory: (options: MonitoringOptions) =>
        new CostCalculator({ overrides: options.pricing, catalogue: options.priceCatalogueEnabled }),
    },
    {
      provide: OtelTracing,
      inject: [MONITORING_OPTIONS],
      useFactory: (options: MonitoringOptions) => (options.otelEnabled ? new OtelTracing(options) : null),
    },
    // The fan-out exists before the sinks (the metrics sink reads its failure counts); sinks are
    // attached when the sink list resolves.
    { provide: EventFanOut, useFactory: () => new EventFanOut() },
    ...LOGGING_PROVIDERS,
    ...createAnalyticsProviders(),
    ...SINK_PROVIDERS,
    {
      provide: MONITORING_SINKS,
      inject: [EventFanOut, ...SINK_PROVIDERS.map((p) => p.provide)],
      useFactory: (fanOut: EventFanOut, ...sinks: (MonitoringSink | null)[]) => {
        const enabled = sinks.filter((s): s is MonitoringSink => s !== null);
        for (const sink of enabled) fanOut.addSink(sink);
        return enabled;
      },
    },
    {
      provide: MonitoringRuntime,
      inject: [EventFanOut, CostCalculator, MONITORING_OPTIONS, OtelTracing, MONITORING_SINKS],
      useFactory: (fanOut: EventFanOut, costs: CostCalculator, options: MonitoringOptions, tracing: OtelTracing | null) =>
        new MonitoringRuntime(fanOut, costs, options, tracing?.activeSpan),
    },
  ];
}
