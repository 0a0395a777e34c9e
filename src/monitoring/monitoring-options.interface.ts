import type { CanActivate, ModuleMetadata, InjectionToken, OptionalFactoryDependency, Type } from '@nestjs/common';
import type { PrincipalIds } from './context/monitoring-context';
import type { ModelPrice } from './cost/pricing-table';
import type { TokenUsage } from './events/monitoring-event';

/** Log levels, lowest first (`silent` writes nothing). */
export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** A destination of log lines: each call receives one or more JSON lines, each ending with a newline. */
export interface LogDestination {
  write(line: string): unknown;
}

/** Minimal view of the incoming HTTP request handed to user callbacks. */
export interface MonitoredRequest {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
  [key: string]: unknown;
}

/**
 * Options of `MonitoringModule.forRoot()`. Every field is optional: the default applies, unless
 * the environment variable named in its description is set.
 */
export interface MonitoringModuleOptions {
  /** Application name, used as the `app` label of log streams. Env `MONITORING_APP_NAME`. Default `magure-ai`. */
  appName?: string;
  /** Deployment environment, the `env` label of log streams. Env `NODE_ENV`. Default `development`. */
  environment?: string;

  /** Serve Prometheus metrics. Env `PROMETHEUS_ENABLED`. Default `true`. */
  prometheusEnabled?: boolean;
  /** Prefix of every metric name this module defines. Env `MONITORING_METRICS_PREFIX`. Default `magure_`. */
  metricsPrefix?: string;
  /** Path of the metrics endpoint. Env `METRICS_PATH`. Default `/metrics`. */
  metricsPath?: string;
  /** Collect prom-client's process metrics (CPU, memory, event loop lag, GC). Default `true`. */
  defaultMetricsEnabled?: boolean;
  /**
   * Most distinct values kept per label (agent_id, model, tool_name, workflow_id, endpoint…);
   * later values are folded into `other`. Env `METRICS_MAX_LABEL_VALUES`. Default `200`.
   */
  maxLabelValues?: number;
  /**
   * Longest metric label value, in characters; longer values are cut and end in a hash of the full
   * value, so distinct values stay distinct. Env `METRICS_MAX_LABEL_VALUE_LENGTH`. Default `128`.
   */
  maxLabelValueLength?: number;

  /** Ship logs to Loki. Env `LOKI_ENABLED`, or implied by `LOKI_URL`. Default `false`. */
  lokiEnabled?: boolean;
  /**
   * Base URL of Loki. Env `LOKI_URL`. Default `http://localhost:3100`. Credentials in the URL
   * (`https://user:password@logs.example.com`) are sent as HTTP basic auth and never logged.
   */
  lokiUrl?: string;
  /** Tenant sent as `X-Scope-OrgID` to a multi-tenant Loki. Env `LOKI_TENANT_ID`. Default: none. */
  lokiTenantId?: string;
  /**
   * Extra static labels of the log stream, besides `app` and `env` (e.g. `{ region: 'eu-west-1' }`).
   * Keep them few and constant: ids belong in the JSON line. Env `LOKI_LABELS` (`region=eu-west-1,team=ai`).
   * Default `{}`.
   */
  lokiLabels?: Record<string, string>;
  /** Most log lines sent to Loki in one push. Env `LOKI_BATCH_SIZE`. Default `1000`. */
  lokiBatchSize?: number;
  /** Milliseconds between pushes of a partly filled batch. Env `LOKI_BATCH_INTERVAL_MS`. Default `1000`. */
  lokiBatchIntervalMs?: number;
  /**
   * Most log lines held for Loki while it is slow or unreachable; beyond it the oldest are dropped
   * and counted (stdout still gets every line). Env `LOKI_MAX_BUFFERED_LINES`. Default `10000`.
   */
  lokiMaxBufferedLines?: number;
  /** Attempts after a failed push (network error, timeout, 429, 5xx) before the batch is dropped. Env `LOKI_MAX_RETRIES`. Default `8`. */
  lokiMaxRetries?: number;
  /** Timeout of one push to Loki and of one recent-logs query. Env `LOKI_TIMEOUT_MS`. Default `5000`. */
  lokiTimeoutMs?: number;
  /** Longest wait for the last batch when the application shuts down. Env `LOKI_SHUTDOWN_TIMEOUT_MS`. Default `5000`. */
  lokiShutdownTimeoutMs?: number;

  /** Lowest level written: trace, debug, info, warn, error, fatal or silent. Env `LOG_LEVEL`. Default `info`. */
  logLevel?: LogLevelName;
  /** Human-readable colored output instead of JSON lines on stdout, for local development (needs `pino-pretty`). Env `LOG_PRETTY`. Default `false`. */
  logPretty?: boolean;
  /**
   * Log the prompt and completion text of LLM calls. Off by default: prompts often carry personal
   * data. Env `LOG_PROMPTS`. Default `false`.
   */
  logPrompts?: boolean;
  /** Characters of prompt and completion kept when `logPrompts` is on. Env `LOG_PROMPT_MAX_LENGTH`. Default `1000`. */
  logPromptMaxLength?: number;
  /**
   * Extra object keys whose values are replaced by `[REDACTED]` wherever they appear in a logged
   * object, besides the built-in ones (password, secret, token, apiKey, authorization, cookie…).
   * Env `LOG_REDACT_KEYS` (comma-separated). Default `[]`.
   */
  logRedactKeys?: string[];
  /**
   * Where JSON log lines go instead of stdout (any object with `write(line)`), e.g. a file stream.
   * Not settable from the environment. Default: stdout.
   */
  logDestination?: LogDestination;
  /** Log lines kept in memory for `GET /api/analytics/recent-logs` without Loki (0 turns it off). Env `RECENT_LOGS_BUFFER_SIZE`. Default `1000`. */
  recentLogsBufferSize?: number;
  /**
   * Answer recent-logs from the in-memory buffer when Loki is unreachable, instead of 503.
   * Env `RECENT_LOGS_FALLBACK_TO_BUFFER`. Default `false`.
   */
  recentLogsFallbackToBuffer?: boolean;

  /** Write analytics rows to PostgreSQL. Env `ANALYTICS_ENABLED`. Default `true`. */
  analyticsEnabled?: boolean;
  /** Seconds between runs of the rollup aggregator. Env `ANALYTICS_AGGREGATION_INTERVAL_SECONDS`. Default `3600`. */
  analyticsAggregationIntervalSeconds?: number;
  /**
   * Closed hours the aggregator rebuilds again on every run, so rows written late are counted.
   * Env `ANALYTICS_AGGREGATION_LOOKBACK_HOURS`. Default `3`.
   */
  analyticsAggregationLookbackHours?: number;
  /**
   * PostgreSQL URL of the analytics database (`postgres://user:pass@host:5432/db`). When unset,
   * an embedded PostgreSQL (PGlite) stored in `embeddedDatabaseDir` is used. Env `DATABASE_URL`.
   * Default: unset (embedded).
   */
  databaseUrl?: string;
  /**
   * Data directory of the embedded database (used without `databaseUrl`); `':memory:'` keeps it
   * in memory only. Env `PGLITE_DATA_DIR`. Default `./.data/pglite`.
   */
  embeddedDatabaseDir?: string;
  /** Connections of the analytics pool to a real server (the embedded database uses one). Env `DATABASE_POOL_SIZE`. Default `5`. */
  databasePoolSize?: number;
  /** Apply pending analytics migrations at startup. Env `ANALYTICS_RUN_MIGRATIONS`. Default `true`. */
  analyticsRunMigrations?: boolean;
  /**
   * Most analytics rows waiting in memory for the database (about 100 s of an outage at 1,000
   * rows/s); beyond it rows go to the spool, or are dropped and counted in
   * `analytics_rows_dropped_total` when the spool is off or full. Env `ANALYTICS_QUEUE_CAPACITY`.
   * Default `100000`.
   */
  analyticsQueueCapacity?: number;
  /** Most rows per analytics INSERT. Env `ANALYTICS_BATCH_SIZE`. Default `2000`. */
  analyticsBatchSize?: number;
  /** Longest wait before queued analytics rows are written. Env `ANALYTICS_FLUSH_INTERVAL_MS`. Default `1000`. */
  analyticsFlushIntervalMs?: number;
  /**
   * Longest time shutdown waits for queued analytics rows to be written before closing the
   * database (within `shutdownTimeoutMs`); rows left then stay in the spool. Env
   * `ANALYTICS_SHUTDOWN_TIMEOUT_MS`. Default `10000`.
   */
  analyticsShutdownTimeoutMs?: number;
  /**
   * Keep analytics rows in a local append-only spool: a journal of queued rows (replayed after a
   * crash), rows beyond the queue capacity, rows left when the shutdown budget is spent. Env
   * `ANALYTICS_SPOOL_ENABLED`. Default `true`.
   */
  analyticsSpoolEnabled?: boolean;
  /** Directory of the analytics spool (one process per directory). Env `ANALYTICS_SPOOL_DIR`. Default `./.data/spool`. */
  analyticsSpoolDir?: string;
  /** Most bytes the analytics spool holds; beyond it rows are dropped and counted. Env `ANALYTICS_SPOOL_MAX_BYTES`. Default `268435456`. */
  analyticsSpoolMaxBytes?: number;
  /**
   * When spooled rows are forced to disk: `interval` (every `analyticsSpoolFsyncIntervalMs`),
   * `always` (after every append) or `never` (left to the OS). A process crash loses nothing
   * appended whatever the policy; this bounds what a machine crash can lose. Env
   * `ANALYTICS_SPOOL_FSYNC`. Default `interval`.
   */
  analyticsSpoolFsync?: 'interval' | 'always' | 'never';
  /** Milliseconds between two fsyncs of the spool with the `interval` policy. Env `ANALYTICS_SPOOL_FSYNC_INTERVAL_MS`. Default `1000`. */
  analyticsSpoolFsyncIntervalMs?: number;
  /**
   * Longest time one analytics API query may run (PostgreSQL `statement_timeout`, and a client-side
   * limit for a server that does not answer at all); past it the API answers 503. Env
   * `ANALYTICS_QUERY_TIMEOUT_MS`. Default `5000`.
   */
  analyticsQueryTimeoutMs?: number;
  /**
   * Longest wait of an analytics API request for a connection of the pool; past it the API
   * answers 503. Env `DATABASE_ACQUIRE_TIMEOUT_MS`. Default `2000`.
   */
  databaseAcquireTimeoutMs?: number;
  /**
   * Budget of the whole shutdown, from SIGTERM (`beforeApplicationShutdown`) to the last row
   * written or spooled: keep it below the orchestrator's grace period (Kubernetes: 30 s). Env
   * `SHUTDOWN_TIMEOUT_MS`. Default `8000`.
   */
  shutdownTimeoutMs?: number;

  /**
   * Serve the analytics routes: the REST API (reports read from PostgreSQL), recent-logs, the page
   * and the OpenAPI document; off, they all answer 404. Env `ANALYTICS_API_ENABLED`. Default `true`.
   */
  analyticsApiEnabled?: boolean;
  /**
   * Path prefix of the analytics API routes. With `forRootAsync` it comes from the environment
   * (the routes exist before the factory runs). Env `ANALYTICS_API_PREFIX`. Default `/api/analytics`.
   */
  analyticsApiPrefix?: string;
  /** Serve the built-in analytics page. Env `ANALYTICS_UI_ENABLED`. Default `true`. */
  analyticsUiEnabled?: boolean;
  /** Path of the built-in analytics page. Env `ANALYTICS_UI_PATH`. Default `<analyticsApiPrefix>/ui`. */
  analyticsUiPath?: string;
  /**
   * Path of the OpenAPI UI of the analytics API (JSON at `<path>/json`), served once
   * `setupAnalyticsOpenApi(app)` is called. Env `ANALYTICS_OPENAPI_PATH`. Default `<analyticsApiPrefix>/docs`.
   */
  analyticsOpenApiPath?: string;
  /**
   * Bearer token required by the analytics API (`Authorization: Bearer <token>`, else 401), at
   * least 16 characters. Env `ANALYTICS_API_TOKEN`. Default: none (no token check).
   */
  analyticsApiToken?: string;
  /**
   * A Nest guard (class or instance) run on every analytics API request, after the token check
   * when both are set. A class is taken from the app's providers when registered there, else
   * instantiated with its dependencies. Default: none.
   */
  analyticsGuard?: Type<CanActivate> | CanActivate;
  /**
   * Serve the analytics routes to anyone when `NODE_ENV` is `production` and neither
   * `analyticsApiToken` nor `analyticsGuard` is set; without it they answer 403 there. Env
   * `ANALYTICS_PUBLIC`. Default `false`.
   */
  analyticsPublic?: boolean;
  /**
   * Also protect the metrics endpoint with `analyticsApiToken` / `analyticsGuard` (Prometheus
   * sends the token with `authorization: { credentials: ... }`). Env `PROTECT_METRICS`. Default `false`.
   */
  protectMetrics?: boolean;
  /**
   * Most rollup result rows the analytics API keeps in memory (per closed hour and report shape,
   * so a long range reads only the hours the aggregator rebuilt since; roughly 0.5 KB each);
   * `0` disables. Env `ANALYTICS_QUERY_CACHE_SIZE`. Default `50000`.
   */
  analyticsQueryCacheSize?: number;

  /** Compute the cost of LLM calls. Env `COST_TRACKING_ENABLED`. Default `true`. */
  costTrackingEnabled?: boolean;
  /**
   * Price overrides and additions, keyed by model name or family (US cents per 1K tokens).
   * They win over the built-in table and the bundled price catalogue.
   */
  pricing?: Record<string, ModelPrice>;
  /** Price models missing from the table with the bundled `@pydantic/genai-prices` catalogue. Default `true`. */
  priceCatalogueEnabled?: boolean;
  /**
   * Reads token usage from LLM responses of providers the built-in OpenAI and Anthropic readers
   * do not understand. Return null when the value carries no usage.
   */
  usageExtractor?: (response: unknown) => TokenUsage | null;

  /** Header carrying the request id (kept when well-formed, else generated). Default `x-request-id`. */
  requestIdHeader?: string;
  /** Derives user / tenant / session ids from the request, for cost per customer. */
  principalExtractor?: (request: MonitoredRequest) => PrincipalIds | undefined;

  /**
   * Also send every request, workflow run, agent execution, LLM call and tool call as an
   * OpenTelemetry span (GenAI semantic conventions), nested as in the run tree: into the app's own
   * OpenTelemetry SDK when one is registered (its HTTP server span becomes the parent), else to an
   * OTLP/HTTP endpoint. Needs the optional packages `@opentelemetry/api`, and for the module's own
   * exporter `@opentelemetry/sdk-trace-base`, `@opentelemetry/resources` and `@opentelemetry/exporter-trace-otlp-http`. Prompts
   * and completions are never exported unless `logPrompts` is on. Env `MONITORING_OTEL_ENABLED`. Default `false`.
   */
  otelEnabled?: boolean;
  /**
   * OTLP/HTTP traces URL of the module's own exporter (used when the app registered no
   * OpenTelemetry SDK). Env `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (`OTEL_EXPORTER_OTLP_ENDPOINT` plus
   * `/v1/traces` also works; `OTEL_EXPORTER_OTLP_HEADERS` adds headers). Default `http://localhost:4318/v1/traces`.
   */
  otelEndpoint?: string;
  /** `service.name` of the spans the module's own exporter sends. Env `OTEL_SERVICE_NAME`. Default: `appName`. */
  otelServiceName?: string;
}

/** Options with every default applied. */
export type MonitoringOptions = Required<
  Omit<
    MonitoringModuleOptions,
    | 'usageExtractor'
    | 'principalExtractor'
    | 'pricing'
    | 'lokiTenantId'
    | 'logDestination'
    | 'databaseUrl'
    | 'analyticsApiToken'
    | 'analyticsGuard'
  >
> &
  Pick<
    MonitoringModuleOptions,
    'usageExtractor' | 'principalExtractor' | 'lokiTenantId' | 'logDestination' | 'databaseUrl' | 'analyticsApiToken' | 'analyticsGuard'
  > & {
    pricing: Record<string, ModelPrice>;
  };

/** `MonitoringModule.forRootAsync()` options: the same factory pattern as `@nestjs/typeorm`. */
export interface MonitoringModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  useFactory: (...args: any[]) => MonitoringModuleOptions | Promise<MonitoringModuleOptions>;
}
