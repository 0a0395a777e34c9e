import type { DynamicModule, FactoryProvider, Provider } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Registry } from 'prom-client';
import { EventFanOut } from '../events/event-fan-out';
import { MONITORING_OPTIONS, MONITORING_REGISTRY } from '../monitoring.constants';
import type { MonitoringOptions } from '../monitoring-options.interface';
import { LogPipeline } from './log-pipeline';
import { LogSink } from './log.sink';
import { registerLokiMetrics } from './loki/loki.metrics';
import { RecentLogsService } from './recent-logs.service';

/** Providers of the log pipeline and the recent-logs endpoint. */
export const LOGGING_PROVIDERS: Provider[] = [
  {
    provide: LogPipeline,
    inject: [MONITORING_OPTIONS, MONITORING_REGISTRY],
    useFactory: (options: MonitoringOptions, registry: Registry) => {
      const pipeline = new LogPipeline(options);
      if (options.prometheusEnabled && pipeline.loki)
        registerLokiMetrics(registry, options.metricsPrefix, pipeline.loki);
      return pipeline;
    },
  },
  RecentLogsService,
];

/** The log sink's provider, listed with the other sinks. */
export const LOG_SINK_PROVIDER: FactoryProvider<LogSink> = {
  provide: LogSink,
  inject: [LogPipeline, MONITORING_OPTIONS, EventFanOut],
  useFactory: (pipeline: LogPipeline, options: MonitoringOptions, fanOut: EventFanOut) =>
    // Lines are written after the fan-out returned: failures are reported to it explicitly.
    new LogSink(pipeline, options, pipeline.secrets, (error) =>
      fanOut.reportFailure('logs', error),
    ),
};

/**
 * nestjs-pino's `LoggerModule`, configured from the module's log pipeline: importing
 * `MonitoringModule` gives the application nestjs-pino's `Logger` / `PinoLogger` writing through
 * the same pipeline (`app.useLogger(app.get(Logger))`).
 */
export function nestjsPinoModule(): DynamicModule {
  return LoggerModule.forRootAsync({
    inject: [LogPipeline],
    useFactory: (pipeline: LogPipeline) => pipeline.nestjsPinoParams(),
  });
}
