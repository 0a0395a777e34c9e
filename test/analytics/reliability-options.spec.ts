import { MonitoringOptionsError, resolveMonitoringOptions } from '../../src/monitoring';

describe('shutdown, spool and read-timeout options', () => {
  it('has defaults that fit a 30 s grace period', () => {
    const o = resolveMonitoringOptions({}, {});
    expect({
      shutdownTimeoutMs: o.shutdownTimeoutMs,
      analyticsSpoolEnabled: o.analyticsSpoolEnabled,
      analyticsSpoolDir: o.analyticsSpoolDir,
      analyticsSpoolMaxBytes: o.analyticsSpoolMaxBytes,
      analyticsSpoolFsync: o.analyticsSpoolFsync,
      analyticsSpoolFsyncIntervalMs: o.analyticsSpoolFsyncIntervalMs,
      analyticsQueryTimeoutMs: o.analyticsQueryTimeoutMs,
      databaseAcquireTimeoutMs: o.databaseAcquireTimeoutMs,
      analyticsPublic: o.analyticsPublic,
    }).toEqual({
      shutdownTimeoutMs: 8000,
      analyticsSpoolEnabled: true,
      analyticsSpoolDir: './.data/spool',
      analyticsSpoolMaxBytes: 268_435_456,
      analyticsSpoolFsync: 'interval',
      analyticsSpoolFsyncIntervalMs: 1000,
      analyticsQueryTimeoutMs: 5000,
      databaseAcquireTimeoutMs: 2000,
      analyticsPublic: false,
    });
  });

  it('reads the environment', () => {
    const o = resolveMonitoringOptions(
      {},
      {
        SHUTDOWN_TIMEOUT_MS: '20000',
        ANALYTICS_SPOOL_ENABLED: 'false',
        ANALYTICS_SPOOL_DIR: '/var/lib/app/spool',
        ANALYTICS_SPOOL_MAX_BYTES: '1048576',
        ANALYTICS_SPOOL_FSYNC: 'always',
        ANALYTICS_SPOOL_FSYNC_INTERVAL_MS: '200',
        ANALYTICS_QUERY_TIMEOUT_MS: '1500',
        DATABASE_ACQUIRE_TIMEOUT_MS: '500',
        ANALYTICS_PUBLIC: 'true',
      },
    );
    expect([
      o.shutdownTimeoutMs,
      o.analyticsSpoolEnabled,
      o.analyticsSpoolDir,
      o.analyticsSpoolMaxBytes,
      o.analyticsSpoolFsync,
      o.analyticsSpoolFsyncIntervalMs,
      o.analyticsQueryTimeoutMs,
      o.databaseAcquireTimeoutMs,
      o.analyticsPublic,
    ]).toEqual([20000, false, '/var/lib/app/spool', 1_048_576, 'always', 200, 1500, 500, true]);
  });

  it.each([
    [{ analyticsSpoolFsync: 'sometimes' as never }, 'Invalid monitoring option "analyticsSpoolFsync": must be one of interval, always, never'],
    [{ shutdownTimeoutMs: -1 }, 'Invalid monitoring option "shutdownTimeoutMs": must be an integer from 0 to 600000'],
    [{ analyticsQueryTimeoutMs: 0 }, 'Invalid monitoring option "analyticsQueryTimeoutMs": must be an integer from 1 to 600000'],
    [{ analyticsSpoolMaxBytes: 10 }, 'Invalid monitoring option "analyticsSpoolMaxBytes": must be an integer from 1024 to 9007199254740991'],
    [{ analyticsPublic: 'yes' as never }, 'Invalid monitoring option "analyticsPublic": must be a boolean'],
  ])('refuses %j naming the field', (options, message) => {
    expect(() => resolveMonitoringOptions(options, {})).toThrow(MonitoringOptionsError);
    expect(() => resolveMonitoringOptions(options, {})).toThrow(message);
  });
});
