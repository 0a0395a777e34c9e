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
});
