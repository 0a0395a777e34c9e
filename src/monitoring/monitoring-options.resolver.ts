import type {
  LogDestination,
  LogLevelName,
  MonitoringModuleOptions,
  MonitoringOptions,
} from './monitoring-options.interface';
import { validateModelPrice } from './cost/pricing-table';
import { DEFAULT_MAX_LABEL_VALUE_LENGTH, MIN_LABEL_VALUE_LENGTH } from './metrics/label-value-limiter';

/**
 * Raised at startup when an option (or its environment variable) is invalid. The message is one
 * line naming the option and, when the value came from the environment, the variable and its value:
 * `Invalid monitoring option "analyticsBatchSize" (environment variable ANALYTICS_BATCH_SIZE="0"): must be an integer from 1 to 50000`.
 */
export class MonitoringOptionsError extends Error {
  constructor(
    /** The option, e.g. `analyticsBatchSize` (or `lokiLabels.region` for a part of one). */
    readonly field: string,
    /** What is wrong with the value. */
    readonly reason: string,
    /** The environment variable the value came from, when it did not come from the options. */
    readonly variable?: string,
    variableValue?: string,
  ) {
    super(
      variable === undefined
        ? `Invalid monitoring option "${field}": ${reason}`
        : `Invalid monitoring option "${field}" (environment variable ${variable}${
            variableValue === undefined || SECRET_VARIABLES.has(variable) ? '' : `=${JSON.stringify(variableValue)}`
          }): ${reason}`,
    );
    this.name = 'MonitoringOptionsError';
  }
}

/** Variables whose values may hold credentials: named in errors, never echoed. */
const SECRET_VARIABLES: ReadonlySet<string> = new Set(['DATABASE_URL', 'ANALYTICS_API_TOKEN', 'LOKI_URL']);

/** The environment variable of each option that has one (as in the options table of the README). */
const OPTION_ENV_VARS: Readonly<Record<string, string>> = {
  appName: 'MONITORING_APP_NAME',
  environment: 'NODE_ENV',
  prometheusEnabled: 'PROMETHEUS_ENABLED',
  metricsPrefix: 'MONITORING_METRICS_PREFIX',
  metricsPath: 'METRICS_PATH',
  maxLabelValues: 'METRICS_MAX_LABEL_VALUES',
  lokiEnabled: 'LOKI_ENABLED',
  lokiUrl: 'LOKI_URL',
  lokiTenantId: 'LOKI_TENANT_ID',
  lokiLabels: 'LOKI_LABELS',
  lokiBatchSize: 'LOKI_BATCH_SIZE',
  lokiBatchIntervalMs: 'LOKI_BATCH_INTERVAL_MS',
  lokiMaxBufferedLines: 'LOKI_MAX_BUFFERED_LINES',
  lokiMaxRetries: 'LOKI_MAX_RETRIES',
  lokiTimeoutMs: 'LOKI_TIMEOUT_MS',
  lokiShutdownTimeoutMs: 'LOKI_SHUTDOWN_TIMEOUT_MS',
  logLevel: 'LOG_LEVEL',
  logPretty: 'LOG_PRETTY',
  logPrompts: 'LOG_PROMPTS',
  logPromptMaxLength: 'LOG_PROMPT_MAX_LENGTH',
  logRedactKeys: 'LOG_REDACT_KEYS',
  recentLogsBufferSize: 'RECENT_LOGS_BUFFER_SIZE',
  recentLogsFallbackToBuffer: 'RECENT_LOGS_FALLBACK_TO_BUFFER',
  analyticsEnabled: 'ANALYTICS_ENABLED',
  analyticsAggregationIntervalSeconds: 'ANALYTICS_AGGREGATION_INTERVAL_SECONDS',
  analyticsAggregationLookbackHours: 'ANALYTICS_AGGREGATION_LOOKBACK_HOURS',
  databaseUrl: 'DATABASE_URL',
  embeddedDatabaseDir: 'PGLITE_DATA_DIR',
  databasePoolSize: 'DATABASE_POOL_SIZE',
  analyticsRunMigrations: 'ANALYTICS_RUN_MIGRATIONS',
  analyticsQueueCapacity: 'ANALYTICS_QUEUE_CAPACITY',
  analyticsBatchSize: 'ANALYTICS_BATCH_SIZE',
  analyticsFlushIntervalMs: 'ANALYTICS_FLUSH_INTERVAL_MS',
  analyticsShutdownTimeoutMs: 'ANALYTICS_SHUTDOWN_TIMEOUT_MS',
  analyticsApiEnabled: 'ANALYTICS_API_ENABLED',
  analyticsApiPrefix: 'ANALYTICS_API_PREFIX',
  analyticsUiEnabled: 'ANALYTICS_UI_ENABLED',
  analyticsUiPath: 'ANALYTICS_UI_PATH',
  analyticsOpenApiPath: 'ANALYTICS_OPENAPI_PATH',
  analyticsApiToken: 'ANALYTICS_API_TOKEN',
  protectMetrics: 'PROTECT_METRICS',
  analyticsQueryCacheSize: 'ANALYTICS_QUERY_CACHE_SIZE',
  costTrackingEnabled: 'COST_TRACKING_ENABLED',
};

type Env = Record<string, string | undefined>;

function envBool(env: Env, name: string, field: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new MonitoringOptionsError(field, 'must be true or false (or 1/0, yes/no, on/off)', name, raw);
}

function envInt(env: Env, name: string, field: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  // A sign is accepted here so that "-1" is reported with the option's range, like an explicit -1.
  if (!/^[-+]?\d+$/.test(raw.trim())) {
    throw new MonitoringOptionsError(field, 'is not a whole number', name, raw);
  }
  return Number(raw);
}

function envStr(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

function checkBool(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new MonitoringOptionsError(field, 'must be a boolean');
  return value;
}

function checkInt(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new MonitoringOptionsError(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function checkStr(field: string, value: unknown, pattern?: RegExp, hint?: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new MonitoringOptionsError(field, 'must be a non-empty string');
  }
  if (pattern && !pattern.test(value)) throw new MonitoringOptionsError(field, hint ?? `must match ${pattern}`);
  return value;
}

function optionalStr(field: string, value: unknown): string | undefined {
  return value === undefined ? undefined : checkStr(field, value);
}

function checkUrl(field: string, value: unknown): string {
  const s = checkStr(field, value);
  try {
    const u = new URL(s);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
  } catch {
    throw new MonitoringOptionsError(field, `"${s}" is not an http(s) URL`);
  }
  return s.replace(/\/+$/, '');
}

const LOG_LEVELS: readonly LogLevelName[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
/** Loki label names (Prometheus data model); names starting with `__` are reserved. */
const LOKI_LABEL_NAME = /^(?!__)[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkLogLevel(field: string, value: unknown): LogLevelName {
  const v = typeof value === 'string' ? value.trim().toLowerCase() : value;
  if (typeof v !== 'string' || !(LOG_LEVELS as readonly string[]).includes(v)) {
    throw new MonitoringOptionsError(field, `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return v as LogLevelName;
}

function envList(env: Env, name: string): string[] | undefined {
  const raw = envStr(env, name);
  return raw === undefined ? undefined : raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function envLabels(env: Env, name: string, field: string): Record<string, string> | undefined {
  const items = envList(env, name);
  if (items === undefined) return undefined;
  const labels: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new MonitoringOptionsError(field, 'must look like "name=value,name=value"', name, env[name]);
    labels[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return labels;
}

function checkLokiLabels(field: string, value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MonitoringOptionsError(field, 'must be an object of label names to string values');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 10) throw new MonitoringOptionsError(field, 'must have at most 10 labels: ids belong in the log line');
  for (const [name, v] of entries) {
    if (!LOKI_LABEL_NAME.test(name)) throw new MonitoringOptionsError(`${field}.${name}`, 'is not a valid Loki label name');
    if (name === 'app' || name === 'env') throw new MonitoringOptionsError(`${field}.${name}`, 'is set from appName / environment');
    if (typeof v !== 'string' || v.length === 0 || v.length > 200) {
      throw new MonitoringOptionsError(`${field}.${name}`, 'must be a non-empty string of at most 200 characters');
    }
  }
  return { ...(value as Record<string, string>) };
}

function checkKeyList(field: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.some((k) => typeof k !== 'string' || k.length === 0)) {
    throw new MonitoringOptionsError(field, 'must be an array of non-empty strings');
  }
  return [...(value as string[])];
}

function checkDestination(field: string, value: unknown): LogDestination | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || typeof (value as LogDestination).write !== 'function') {
    throw new MonitoringOptionsError(field, 'must be an object with a write(line) method');
  }
  return value as LogDestination;
}

// Route paths: absolute, at least one segment, no trailing slash, no route-pattern characters.
const ROUTE_PATH = /^(\/[A-Za-z0-9_.-]+)+$/;
const ROUTE_PATH_HINT = 'must be an absolute URL path such as /api/analytics (letters, digits, ".", "_", "-")';

function checkPath(field: string, value: unknown): string {
  const s = typeof value === 'string' && value.length > 1 ? value.replace(/\/+$/, '') : value;
  return checkStr(field, s, ROUTE_PATH, ROUTE_PATH_HINT);
}

function checkGuard<T>(field: string, value: T | undefined): T | undefined {
  if (value === undefined) return undefined;
  const isClass = typeof value === 'function';
  const isInstance =
    typeof value === 'object' && value !== null && typeof (value as { canActivate?: unknown }).canActivate === 'function';
  if (!isClass && !isInstance) {
    throw new MonitoringOptionsError(field, 'must be a guard class or an object with a canActivate() method');
  }
  return value;
}

function checkDatabaseUrl(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const s = checkStr(field, value);
  let protocol: string;
  try {
    protocol = new URL(s).protocol;
  } catch {
    // Never echo the value: it may carry a password.
    throw new MonitoringOptionsError(field, 'is not a URL (expected postgres://user:password@host:5432/database)');
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new MonitoringOptionsError(field, `must be a postgres:// or postgresql:// URL, got ${protocol}//...`);
  }
  return s;
}

const FSYNC_POLICIES = ['interval', 'always', 'never'] as const;

function checkFsync(field: string, value: unknown): (typeof FSYNC_POLICIES)[number] {
  if (typeof value !== 'string' || !(FSYNC_POLICIES as readonly string[]).includes(value)) {
    throw new MonitoringOptionsError(field, `must be one of ${FSYNC_POLICIES.join(', ')}`);
  }
  return value as (typeof FSYNC_POLICIES)[number];
}

function checkFn<T>(field: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new MonitoringOptionsError(field, 'must be a function');
  }
  return value;
}

/**
 * Applies environment variables and defaults to the user's options and validates the result.
 * Explicit options win over environment variables, which win over defaults.
 * Throws `MonitoringOptionsError` naming the first invalid field.
 */
export function resolveMonitoringOptions(
  options: MonitoringModuleOptions = {},
  env: Env = process.env,
): MonitoringOptions {
  try {
    return resolveOptions(options, env);
  } catch (error) {
    throw withEnvironmentVariable(error, options, env);
  }
}

/**
 * Names the environment variable in an error about an option that was not given explicitly, so
 * the one-line message tells an operator what to change (`ANALYTICS_BATCH_SIZE=0`, not the code).
 */
function withEnvironmentVariable(error: unknown, options: MonitoringModuleOptions, env: Env): unknown {
  if (!(error instanceof MonitoringOptionsError) || error.variable !== undefined) return error;
  const option = error.field.split('.')[0]!;
  const variable = OPTION_ENV_VARS[option];
  if (variable === undefined || env[variable] === undefined || env[variable] === '') return error;
  if (options !== null && typeof options === 'object' && (options as Record<string, unknown>)[option] !== undefined) return error;
  return new MonitoringOptionsError(error.field, error.reason, variable, env[variable]);
}

function resolveOptions(options: MonitoringModuleOptions, env: Env): MonitoringOptions {
  if (options === null || typeof options !== 'object') {
    throw new MonitoringOptionsError('options', 'must be an object');
  }
  const lokiUrlFromEnv = envStr(env, 'LOKI_URL');
  const pricing = options.pricing ?? {};
  if (typeof pricing !== 'object' || pricing === null) {
    throw new MonitoringOptionsError('pricing', 'must be an object keyed by model name');
  }
  for (const [model, price] of Object.entries(pricing)) {
    const problem = validateModelPrice(price);
    if (problem) throw new MonitoringOptionsError(`pricing.${model}`, problem);
  }

  const analyticsApiPrefix = checkPath(
    'analyticsApiPrefix',
    options.analyticsApiPrefix ?? envStr(env, 'ANALYTICS_API_PREFIX') ?? '/api/analytics',
  );
  const analyticsApiToken = options.analyticsApiToken ?? envStr(env, 'ANALYTICS_API_TOKEN');
  if (analyticsApiToken !== undefined) {
    checkStr('analyticsApiToken', analyticsApiToken, /^[\x21-\x7e]{16,}$/, 'must be at least 16 printable characters without spaces');
  }
  const analyticsGuard = checkGuard('analyticsGuard', options.analyticsGuard);
  const protectMetrics = checkBool(
    'protectMetrics',
    options.protectMetrics ?? envBool(env, 'PROTECT_METRICS', 'protectMetrics') ?? false,
  );
  if (protectMetrics && analyticsApiToken === undefined && analyticsGuard === undefined) {
    throw new MonitoringOptionsError('protectMetrics', 'needs analyticsApiToken or analyticsGuard to protect with');
  }

  const appName = checkStr(
    'appName',
    options.appName ?? envStr(env, 'MONITORING_APP_NAME') ?? 'magure-ai',
    /^[A-Za-z0-9_.-]+$/,
    'may contain only letters, digits, ".", "_" and "-"',
  );
  const resolved: MonitoringOptions = {
    appName,
    environment: checkStr('environment', options.environment ?? envStr(env, 'NODE_ENV') ?? 'development'),
    prometheusEnabled: checkBool(
      'prometheusEnabled',
      options.prometheusEnabled ?? envBool(env, 'PROMETHEUS_ENABLED', 'prometheusEnabled') ?? true,
    ),
    metricsPrefix: checkStr(
      'metricsPrefix',
      options.metricsPrefix ?? envStr(env, 'MONITORING_METRICS_PREFIX') ?? 'magure_',
      /^[a-zA-Z_:][a-zA-Z0-9_:]*$/,
      'must be a valid Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)',
    ),
    metricsPath: checkStr(
      'metricsPath',
      options.metricsPath ?? envStr(env, 'METRICS_PATH') ?? '/metrics',
      /^\/[A-Za-z0-9_\-/.]*$/,
      'must be an absolute URL path such as /metrics',
    ),
    defaultMetricsEnabled: checkBool('defaultMetricsEnabled', options.defaultMetricsEnabled ?? true),
    maxLabelValues: checkInt(
      'maxLabelValues',
      options.maxLabelValues ?? envInt(env, 'METRICS_MAX_LABEL_VALUES', 'maxLabelValues') ?? 200,
      1,
      100_000,
    ),
    maxLabelValueLength: checkInt(
      'maxLabelValueLength',
      options.maxLabelValueLength ??
        envInt(env, 'METRICS_MAX_LABEL_VALUE_LENGTH', 'maxLabelValueLength') ??
        DEFAULT_MAX_LABEL_VALUE_LENGTH,
      MIN_LABEL_VALUE_LENGTH,
      10_000,
    ),
    lokiEnabled: checkBool(
      'lokiEnabled',
      options.lokiEnabled ?? envBool(env, 'LOKI_ENABLED', 'lokiEnabled') ?? lokiUrlFromEnv !== undefined,
    ),
    lokiUrl: checkUrl('lokiUrl', options.lokiUrl ?? lokiUrlFromEnv ?? 'http://localhost:3100'),
    lokiTenantId: optionalStr('lokiTenantId', options.lokiTenantId ?? envStr(env, 'LOKI_TENANT_ID')),
    lokiLabels: checkLokiLabels('lokiLabels', options.lokiLabels ?? envLabels(env, 'LOKI_LABELS', 'lokiLabels') ?? {}),
    lokiBatchSize: checkInt(
      'lokiBatchSize',
      options.lokiBatchSize ?? envInt(env, 'LOKI_BATCH_SIZE', 'lokiBatchSize') ?? 1000,
      1,
      100_000,
    ),
    lokiBatchIntervalMs: checkInt(
      'lokiBatchIntervalMs',
      options.lokiBatchIntervalMs ?? envInt(env, 'LOKI_BATCH_INTERVAL_MS', 'lokiBatchIntervalMs') ?? 1000,
      10,
      600_000,
    ),
    lokiMaxBufferedLines: checkInt(
      'lokiMaxBufferedLines',
      options.lokiMaxBufferedLines ?? envInt(env, 'LOKI_MAX_BUFFERED_LINES', 'lokiMaxBufferedLines') ?? 10_000,
      1,
      10_000_000,
    ),
    lokiMaxRetries: checkInt(
      'lokiMaxRetries',
      options.lokiMaxRetries ?? envInt(env, 'LOKI_MAX_RETRIES', 'lokiMaxRetries') ?? 8,
      0,
      1000,
    ),
    lokiTimeoutMs: checkInt(
      'lokiTimeoutMs',
      options.lokiTimeoutMs ?? envInt(env, 'LOKI_TIMEOUT_MS', 'lokiTimeoutMs') ?? 5000,
      1,
      600_000,
    ),
    lokiShutdownTimeoutMs: checkInt(
      'lokiShutdownTimeoutMs',
      options.lokiShutdownTimeoutMs ?? envInt(env, 'LOKI_SHUTDOWN_TIMEOUT_MS', 'lokiShutdownTimeoutMs') ?? 5000,
      0,
      600_000,
    ),
    logLevel: checkLogLevel('logLevel', options.logLevel ?? envStr(env, 'LOG_LEVEL') ?? 'info'),
    logPretty: checkBool('logPretty', options.logPretty ?? envBool(env, 'LOG_PRETTY', 'logPretty') ?? false),
    logPrompts: checkBool('logPrompts', options.logPrompts ?? envBool(env, 'LOG_PROMPTS', 'logPrompts') ?? false),
    logPromptMaxLength: checkInt(
      'logPromptMaxLength',
      options.logPromptMaxLength ?? envInt(env, 'LOG_PROMPT_MAX_LENGTH', 'logPromptMaxLength') ?? 1000,
      1,
      1_000_000,
    ),
    logRedactKeys: checkKeyList('logRedactKeys', options.logRedactKeys ?? envList(env, 'LOG_REDACT_KEYS') ?? []),
    logDestination: checkDestination('logDestination', options.logDestination),
    recentLogsBufferSize: checkInt(
      'recentLogsBufferSize',
      options.recentLogsBufferSize ?? envInt(env, 'RECENT_LOGS_BUFFER_SIZE', 'recentLogsBufferSize') ?? 1000,
      0,
      1_000_000,
    ),
    recentLogsFallbackToBuffer: checkBool(
      'recentLogsFallbackToBuffer',
      options.recentLogsFallbackToBuffer ??
        envBool(env, 'RECENT_LOGS_FALLBACK_TO_BUFFER', 'recentLogsFallbackToBuffer') ??
        false,
    ),
    analyticsEnabled: checkBool(
      'analyticsEnabled',
      options.analyticsEnabled ?? envBool(env, 'ANALYTICS_ENABLED', 'analyticsEnabled') ?? true,
    ),
    analyticsAggregationIntervalSeconds: checkInt(
      'analyticsAggregationIntervalSeconds',
      options.analyticsAggregationIntervalSeconds ??
        envInt(env, 'ANALYTICS_AGGREGATION_INTERVAL_SECONDS', 'analyticsAggregationIntervalSeconds') ??
        3600,
      1,
      86_400,
    ),
    analyticsApiEnabled: checkBool(
      'analyticsApiEnabled',
      options.analyticsApiEnabled ?? envBool(env, 'ANALYTICS_API_ENABLED', 'analyticsApiEnabled') ?? true,
    ),
    analyticsApiPrefix,
    analyticsUiEnabled: checkBool(
      'analyticsUiEnabled',
      options.analyticsUiEnabled ?? envBool(env, 'ANALYTICS_UI_ENABLED', 'analyticsUiEnabled') ?? true,
    ),
    analyticsUiPath: checkPath(
      'analyticsUiPath',
      options.analyticsUiPath ?? envStr(env, 'ANALYTICS_UI_PATH') ?? `${analyticsApiPrefix}/ui`,
    ),
    analyticsOpenApiPath: checkPath(
      'analyticsOpenApiPath',
      options.analyticsOpenApiPath ?? envStr(env, 'ANALYTICS_OPENAPI_PATH') ?? `${analyticsApiPrefix}/docs`,
    ),
    analyticsApiToken,
    analyticsGuard,
    protectMetrics,
    analyticsQueryCacheSize: checkInt(
      'analyticsQueryCacheSize',
      options.analyticsQueryCacheSize ??
        envInt(env, 'ANALYTICS_QUERY_CACHE_SIZE', 'analyticsQueryCacheSize') ??
        50_000,
      0,
      10_000_000,
    ),
    analyticsAggregationLookbackHours: checkInt(
      'analyticsAggregationLookbackHours',
      options.analyticsAggregationLookbackHours ??
        envInt(env, 'ANALYTICS_AGGREGATION_LOOKBACK_HOURS', 'analyticsAggregationLookbackHours') ??
        3,
      0,
      24 * 31,
    ),
    databaseUrl: checkDatabaseUrl('databaseUrl', options.databaseUrl ?? envStr(env, 'DATABASE_URL')),
    embeddedDatabaseDir: checkStr(
      'embeddedDatabaseDir',
      options.embeddedDatabaseDir ?? envStr(env, 'PGLITE_DATA_DIR') ?? './.data/pglite',
    ),
    databasePoolSize: checkInt(
      'databasePoolSize',
      options.databasePoolSize ?? envInt(env, 'DATABASE_POOL_SIZE', 'databasePoolSize') ?? 5,
      1,
      100,
    ),
    analyticsRunMigrations: checkBool(
      'analyticsRunMigrations',
      options.analyticsRunMigrations ?? envBool(env, 'ANALYTICS_RUN_MIGRATIONS', 'analyticsRunMigrations') ?? true,
    ),
    analyticsQueueCapacity: checkInt(
      'analyticsQueueCapacity',
      options.analyticsQueueCapacity ?? envInt(env, 'ANALYTICS_QUEUE_CAPACITY', 'analyticsQueueCapacity') ?? 100_000,
      1,
      10_000_000,
    ),
    analyticsBatchSize: checkInt(
      'analyticsBatchSize',
      options.analyticsBatchSize ?? envInt(env, 'ANALYTICS_BATCH_SIZE', 'analyticsBatchSize') ?? 2000,
      1,
      50_000,
    ),
    analyticsFlushIntervalMs: checkInt(
      'analyticsFlushIntervalMs',
      options.analyticsFlushIntervalMs ?? envInt(env, 'ANALYTICS_FLUSH_INTERVAL_MS', 'analyticsFlushIntervalMs') ?? 1000,
      10,
      60_000,
    ),
    analyticsShutdownTimeoutMs: checkInt(
      'analyticsShutdownTimeoutMs',
      options.analyticsShutdownTimeoutMs ??
        envInt(env, 'ANALYTICS_SHUTDOWN_TIMEOUT_MS', 'analyticsShutdownTimeoutMs') ??
        10_000,
      0,
      300_000,
    ),
    analyticsSpoolEnabled: checkBool(
      'analyticsSpoolEnabled',
      options.analyticsSpoolEnabled ?? envBool(env, 'ANALYTICS_SPOOL_ENABLED', 'analyticsSpoolEnabled') ?? true,
    ),
    analyticsSpoolDir: checkStr('analyticsSpoolDir', options.analyticsSpoolDir ?? envStr(env, 'ANALYTICS_SPOOL_DIR') ?? './.data/spool'),
    analyticsSpoolMaxBytes: checkInt(
      'analyticsSpoolMaxBytes',
      options.analyticsSpoolMaxBytes ?? envInt(env, 'ANALYTICS_SPOOL_MAX_BYTES', 'analyticsSpoolMaxBytes') ?? 268_435_456,
      1024,
      Number.MAX_SAFE_INTEGER,
    ),
    analyticsSpoolFsync: checkFsync(
      'analyticsSpoolFsync',
      options.analyticsSpoolFsync ?? envStr(env, 'ANALYTICS_SPOOL_FSYNC') ?? 'interval',
    ),
    analyticsSpoolFsyncIntervalMs: checkInt(
      'analyticsSpoolFsyncIntervalMs',
      options.analyticsSpoolFsyncIntervalMs ??
        envInt(env, 'ANALYTICS_SPOOL_FSYNC_INTERVAL_MS', 'analyticsSpoolFsyncIntervalMs') ??
        1000,
      10,
      600_000,
    ),
    analyticsQueryTimeoutMs: checkInt(
      'analyticsQueryTimeoutMs',
      options.analyticsQueryTimeoutMs ?? envInt(env, 'ANALYTICS_QUERY_TIMEOUT_MS', 'analyticsQueryTimeoutMs') ?? 5000,
      1,
      600_000,
    ),
    databaseAcquireTimeoutMs: checkInt(
      'databaseAcquireTimeoutMs',
      options.databaseAcquireTimeoutMs ?? envInt(env, 'DATABASE_ACQUIRE_TIMEOUT_MS', 'databaseAcquireTimeoutMs') ?? 2000,
      1,
      600_000,
    ),
    shutdownTimeoutMs: checkInt(
      'shutdownTimeoutMs',
      options.shutdownTimeoutMs ?? envInt(env, 'SHUTDOWN_TIMEOUT_MS', 'shutdownTimeoutMs') ?? 8000,
      0,
      600_000,
    ),
    analyticsPublic: checkBool(
      'analyticsPublic',
      options.analyticsPublic ?? envBool(env, 'ANALYTICS_PUBLIC', 'analyticsPublic') ?? false,
    ),
    costTrackingEnabled: checkBool(
      'costTrackingEnabled',
      options.costTrackingEnabled ?? envBool(env, 'COST_TRACKING_ENABLED', 'costTrackingEnabled') ?? true,
    ),
    pricing,
    priceCatalogueEnabled: checkBool('priceCatalogueEnabled', options.priceCatalogueEnabled ?? true),
    usageExtractor: checkFn('usageExtractor', options.usageExtractor),
    requestIdHeader: checkStr(
      'requestIdHeader',
      (options.requestIdHeader ?? 'x-request-id').toLowerCase(),
      /^[a-z0-9-]+$/,
      'must be an HTTP header name',
    ),
    principalExtractor: checkFn('principalExtractor', options.principalExtractor),
    otelEnabled: checkBool('otelEnabled', options.otelEnabled ?? envBool(env, 'MONITORING_OTEL_ENABLED', 'otelEnabled') ?? false),
    otelEndpoint: checkStr(
      'otelEndpoint',
      options.otelEndpoint ?? envStr(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? otlpTracesUrl(envStr(env, 'OTEL_EXPORTER_OTLP_ENDPOINT')),
      /^https?:\/\/[^\s]+$/,
      'must be an http(s) URL',
    ),
    otelServiceName: checkStr(
      'otelServiceName',
      options.otelServiceName ?? envStr(env, 'OTEL_SERVICE_NAME') ?? appName,
      /^\S.{0,254}$/,
      'must be a non-empty name of at most 255 characters',
    ),
  };
  return resolved;
}

/** The OTLP/HTTP traces URL under a base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`). */
function otlpTracesUrl(base: string | undefined): string {
  return `${(base ?? 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`;
}
