import {
  MonitoringOptionsError,
  resolveMonitoringOptions,
} from '../../src/monitoring/monitoring-options.resolver';

describe('analytics options', () => {
  it('default to the embedded database in ./.data/pglite with migrations at startup', () => {
    const o = resolveMonitoringOptions({}, {});
    expect(o).toMatchObject({
      analyticsEnabled: true,
      databaseUrl: undefined,
      embeddedDatabaseDir: './.data/pglite',
      databasePoolSize: 5,
      analyticsRunMigrations: true,
      analyticsQueueCapacity: 100_000,
      analyticsBatchSize: 2000,
      analyticsFlushIntervalMs: 1000,
      analyticsShutdownTimeoutMs: 10_000,
      analyticsAggregationIntervalSeconds: 3600,
      analyticsAggregationLookbackHours: 3,
    });
    // Rides out a one-minute outage at 1,000 events/s.
    expect(o.analyticsQueueCapacity).toBeGreaterThanOrEqual(60_000);
  });

  it('read their environment variables', () => {
    const o = resolveMonitoringOptions(
      {},
      {
        DATABASE_URL: 'postgresql://app:secret@db:5432/analytics',
        PGLITE_DATA_DIR: '/var/lib/app/pglite',
        DATABASE_POOL_SIZE: '12',
        ANALYTICS_RUN_MIGRATIONS: 'false',
        ANALYTICS_QUEUE_CAPACITY: '250000',
        ANALYTICS_BATCH_SIZE: '5000',
        ANALYTICS_FLUSH_INTERVAL_MS: '250',
        ANALYTICS_SHUTDOWN_TIMEOUT_MS: '30000',
        ANALYTICS_AGGREGATION_LOOKBACK_HOURS: '24',
      },
    );
    expect(o).toMatchObject({
      databaseUrl: 'postgresql://app:secret@db:5432/analytics',
      embeddedDatabaseDir: '/var/lib/app/pglite',
      databasePoolSize: 12,
      analyticsRunMigrations: false,
      analyticsQueueCapacity: 250_000,
      analyticsBatchSize: 5000,
      analyticsFlushIntervalMs: 250,
      analyticsShutdownTimeoutMs: 30_000,
      analyticsAggregationLookbackHours: 24,
    });
  });

  it('prefer explicit options over the environment', () => {
    const o = resolveMonitoringOptions(
      { databaseUrl: 'postgres://localhost/explicit', embeddedDatabaseDir: ':memory:' },
      { DATABASE_URL: 'postgres://localhost/env', PGLITE_DATA_DIR: '/env' },
    );
    expect(o.databaseUrl).toBe('postgres://localhost/explicit');
    expect(o.embeddedDatabaseDir).toBe(':memory:');
  });

  it.each([
    [{ databaseUrl: 'mysql://user:pw@db/app' }, 'databaseUrl', /postgres:\/\/ or postgresql:\/\//],
    [{ databaseUrl: 'not a url with hunter2' }, 'databaseUrl', /is not a URL/],
    [{ databasePoolSize: 0 }, 'databasePoolSize', /from 1 to 100/],
    [{ analyticsQueueCapacity: 1.5 }, 'analyticsQueueCapacity', /integer/],
    [{ analyticsBatchSize: 100_000 }, 'analyticsBatchSize', /from 1 to 50000/],
    [{ analyticsFlushIntervalMs: 1 }, 'analyticsFlushIntervalMs', /from 10 to 60000/],
    [{ analyticsShutdownTimeoutMs: -1 }, 'analyticsShutdownTimeoutMs', /from 0 to 300000/],
    [
      { analyticsAggregationLookbackHours: 10_000 },
      'analyticsAggregationLookbackHours',
      /from 0 to 744/,
    ],
    [{ analyticsRunMigrations: 'yes' as unknown as boolean }, 'analyticsRunMigrations', /boolean/],
    [{ embeddedDatabaseDir: '' }, 'embeddedDatabaseDir', /non-empty/],
  ])('reject %j naming the field', (options, field, reason) => {
    let error: unknown;
    try {
      resolveMonitoringOptions(options, {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MonitoringOptionsError);
    expect((error as MonitoringOptionsError).field).toBe(field);
    expect((error as Error).message).toMatch(reason);
  });

  it('never echo a database URL (it may hold a password) in errors', () => {
    expect(() =>
      resolveMonitoringOptions({}, { DATABASE_URL: 'mysql://u:hunter2@db/app' }),
    ).toThrow(MonitoringOptionsError);
    try {
      resolveMonitoringOptions({}, { DATABASE_URL: 'mysql://u:hunter2@db/app' });
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
    try {
      resolveMonitoringOptions({}, { DATABASE_URL: 'hunter2' });
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
  });

  it('reject malformed numbers in the environment naming the field', () => {
    expect(() => resolveMonitoringOptions({}, { ANALYTICS_QUEUE_CAPACITY: 'lots' })).toThrow(
      /analyticsQueueCapacity.*ANALYTICS_QUEUE_CAPACITY="lots"/,
    );
  });
});
