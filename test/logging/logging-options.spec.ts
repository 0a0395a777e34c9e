import { MonitoringOptionsError, resolveMonitoringOptions } from '../../src/monitoring';

describe('logging options', () => {
  it('have defaults', () => {
    const o = resolveMonitoringOptions({}, {});
    expect(o).toMatchObject({
      logLevel: 'info',
      logPretty: false,
      logPrompts: false,
      logPromptMaxLength: 1000,
      logRedactKeys: [],
      recentLogsBufferSize: 1000,
      recentLogsFallbackToBuffer: false,
      lokiEnabled: false,
      lokiUrl: 'http://localhost:3100',
      lokiLabels: {},
      lokiBatchSize: 1000,
      lokiBatchIntervalMs: 1000,
      lokiMaxBufferedLines: 10_000,
      lokiMaxRetries: 8,
      lokiTimeoutMs: 5000,
      lokiShutdownTimeoutMs: 5000,
    });
    expect(o.lokiTenantId).toBeUndefined();
    expect(o.logDestination).toBeUndefined();
  });

  it('are read from the environment', () => {
    const o = resolveMonitoringOptions(
      {},
      {
        LOG_LEVEL: 'DEBUG',
        LOG_PRETTY: 'true',
        LOG_PROMPTS: '1',
        LOG_PROMPT_MAX_LENGTH: '200',
        LOG_REDACT_KEYS: 'ssn, iban',
        RECENT_LOGS_BUFFER_SIZE: '0',
        RECENT_LOGS_FALLBACK_TO_BUFFER: 'yes',
        LOKI_URL: 'https://logs.example.com/',
        LOKI_TENANT_ID: 'team-a',
        LOKI_LABELS: 'region=eu-west-1, cluster=c1',
        LOKI_BATCH_SIZE: '500',
        LOKI_BATCH_INTERVAL_MS: '2000',
        LOKI_MAX_BUFFERED_LINES: '50000',
        LOKI_MAX_RETRIES: '3',
        LOKI_TIMEOUT_MS: '1500',
        LOKI_SHUTDOWN_TIMEOUT_MS: '800',
      },
    );
    expect(o).toMatchObject({
      logLevel: 'debug',
      logPretty: true,
      logPrompts: true,
      logPromptMaxLength: 200,
      logRedactKeys: ['ssn', 'iban'],
      recentLogsBufferSize: 0,
      recentLogsFallbackToBuffer: true,
      lokiEnabled: true, // implied by LOKI_URL
      lokiUrl: 'https://logs.example.com',
      lokiTenantId: 'team-a',
      lokiLabels: { region: 'eu-west-1', cluster: 'c1' },
      lokiBatchSize: 500,
      lokiBatchIntervalMs: 2000,
      lokiMaxBufferedLines: 50_000,
      lokiMaxRetries: 3,
      lokiTimeoutMs: 1500,
      lokiShutdownTimeoutMs: 800,
    });
  });

  it('let explicit options win over the environment', () => {
    const o = resolveMonitoringOptions(
      { logLevel: 'warn', lokiLabels: { team: 'ai' } },
      { LOG_LEVEL: 'debug', LOKI_LABELS: 'x=y' },
    );
    expect(o.logLevel).toBe('warn');
    expect(o.lokiLabels).toEqual({ team: 'ai' });
  });

  const invalid: [string, Record<string, unknown>, Record<string, string>, string][] = [
    [
      'logLevel',
      { logLevel: 'verbose' },
      {},
      'must be one of trace, debug, info, warn, error, fatal, silent',
    ],
    [
      'logLevel',
      {},
      { LOG_LEVEL: 'loud' },
      'Invalid monitoring option "logLevel" (environment variable LOG_LEVEL="loud"): must be one of trace, debug, info, warn, error, fatal, silent',
    ],
    [
      'logPretty',
      {},
      { LOG_PRETTY: 'maybe' },
      'Invalid monitoring option "logPretty" (environment variable LOG_PRETTY="maybe"): must be true or false (or 1/0, yes/no, on/off)',
    ],
    ['logPromptMaxLength', { logPromptMaxLength: 0 }, {}, 'must be an integer from 1 to 1000000'],
    ['logRedactKeys', { logRedactKeys: ['ok', ''] }, {}, 'must be an array of non-empty strings'],
    ['logDestination', { logDestination: {} }, {}, 'must be an object with a write(line) method'],
    [
      'recentLogsBufferSize',
      {},
      { RECENT_LOGS_BUFFER_SIZE: '-1' },
      'Invalid monitoring option "recentLogsBufferSize" (environment variable RECENT_LOGS_BUFFER_SIZE="-1"): must be an integer from 0 to 1000000',
    ],
    [
      'lokiLabels',
      {},
      { LOKI_LABELS: 'region' },
      'Invalid monitoring option "lokiLabels" (environment variable LOKI_LABELS="region"): must look like "name=value,name=value"',
    ],
    [
      'lokiLabels.bad-name',
      { lokiLabels: { 'bad-name': 'x' } },
      {},
      'is not a valid Loki label name',
    ],
    ['lokiLabels.app', { lokiLabels: { app: 'x' } }, {}, 'is set from appName / environment'],
    [
      'lokiLabels.region',
      { lokiLabels: { region: '' } },
      {},
      'must be a non-empty string of at most 200 characters',
    ],
    ['lokiBatchSize', { lokiBatchSize: 0 }, {}, 'must be an integer from 1 to 100000'],
    ['lokiBatchIntervalMs', { lokiBatchIntervalMs: 5 }, {}, 'must be an integer from 10 to 600000'],
    [
      'lokiMaxBufferedLines',
      { lokiMaxBufferedLines: 0 },
      {},
      'must be an integer from 1 to 10000000',
    ],
    ['lokiTimeoutMs', { lokiTimeoutMs: 1.5 }, {}, 'must be an integer from 1 to 600000'],
    ['lokiTenantId', { lokiTenantId: '' }, {}, 'must be a non-empty string'],
  ];

  it.each(invalid)('reject a bad %s with an error naming it', (field, options, env, reason) => {
    let error: unknown;
    try {
      resolveMonitoringOptions(options, env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MonitoringOptionsError);
    expect((error as MonitoringOptionsError).field).toBe(field);
    // Values from the environment are reported with their variable; the reason then is the whole message.
    const expected = reason.startsWith('Invalid ') ? reason : `Invalid monitoring option "${field}": ${reason}`;
    expect((error as Error).message).toBe(expected);
  });
});
