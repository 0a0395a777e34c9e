import { MonitoringOptionsError, resolveMonitoringOptions } from './monitoring-options.resolver';

describe('resolveMonitoringOptions', () => {
  it('applies the design defaults', () => {
    const o = resolveMonitoringOptions({}, {});
    expect(o).toMatchObject({
      appName: 'magure-ai',
      metricsPrefix: 'magure_',
      prometheusEnabled: true,
      lokiEnabled: false,
      lokiUrl: 'http://localhost:3100',
      analyticsEnabled: true,
      analyticsAggregationIntervalSeconds: 3600,
      costTrackingEnabled: true,
      metricsPath: '/metrics',
    });
  });

  it('reads environment variables; explicit options win', () => {
    const env = { MONITORING_APP_NAME: 'from-env', LOKI_URL: 'http://loki:3100/', PROMETHEUS_ENABLED: 'false', ANALYTICS_AGGREGATION_INTERVAL_SECONDS: '60' };
    const o = resolveMonitoringOptions({ appName: 'explicit' }, env);
    expect(o).toMatchObject({ appName: 'explicit', lokiEnabled: true, lokiUrl: 'http://loki:3100', prometheusEnabled: false, analyticsAggregationIntervalSeconds: 60 });
  });

  it.each([
    [{ metricsPrefix: 'bad-prefix' }, {}, 'metricsPrefix'],
    [{ analyticsAggregationIntervalSeconds: 0 }, {}, 'analyticsAggregationIntervalSeconds'],
    [{ lokiUrl: 'ftp://x' }, {}, 'lokiUrl'],
    [{}, { PROMETHEUS_ENABLED: 'maybe' }, 'prometheusEnabled'],
    [{ pricing: { 'gpt-x': { input: -1, output: 1 } } }, {}, 'pricing.gpt-x'],
    [{ principalExtractor: 'nope' as never }, {}, 'principalExtractor'],
  ])('rejects %j / env %j naming %s', (options, env, field) => {
    let error: unknown;
    try {
      resolveMonitoringOptions(options, env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MonitoringOptionsError);
    expect((error as MonitoringOptionsError).field).toBe(field);
    expect((error as Error).message).toContain(`"${field}"`);
  });

  it.each([
    [
      { ANALYTICS_BATCH_SIZE: '0' },
      'Invalid monitoring option "analyticsBatchSize" (environment variable ANALYTICS_BATCH_SIZE="0"): must be an integer from 1 to 50000',
    ],
    [
      { LOG_LEVEL: 'verbose' },
      'Invalid monitoring option "logLevel" (environment variable LOG_LEVEL="verbose"): must be one of trace, debug, info, warn, error, fatal, silent',
    ],
    [
      { DATABASE_POOL_SIZE: '-1' },
      'Invalid monitoring option "databasePoolSize" (environment variable DATABASE_POOL_SIZE="-1"): must be an integer from 1 to 100',
    ],
    [
      { ANALYTICS_QUEUE_CAPACITY: '10k' },
      'Invalid monitoring option "analyticsQueueCapacity" (environment variable ANALYTICS_QUEUE_CAPACITY="10k"): is not a whole number',
    ],
    [
      { METRICS_PATH: 'metrics' },
      'Invalid monitoring option "metricsPath" (environment variable METRICS_PATH="metrics"): must be an absolute URL path such as /metrics',
    ],
  ])('names the environment variable a bad value came from: %j', (env, message) => {
    let error: MonitoringOptionsError | undefined;
    try {
      resolveMonitoringOptions({}, env);
    } catch (e) {
      error = e as MonitoringOptionsError;
    }
    expect(error?.message).toBe(message);
    expect(error?.variable).toBe(Object.keys(env)[0]);
  });

  it('does not blame the environment for an explicit option', () => {
    expect(() => resolveMonitoringOptions({ analyticsBatchSize: 0 }, { ANALYTICS_BATCH_SIZE: '500' })).toThrow(
      'Invalid monitoring option "analyticsBatchSize": must be an integer from 1 to 50000',
    );
  });
});
