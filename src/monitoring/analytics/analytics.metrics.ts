import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PoolStats } from './database/analytics-database';
import { ANALYTICS_TABLES } from './ingest/analytics-tables';

/**
 * Metrics of the analytics pipeline, on the module's registry. The names are fixed (the
 * dashboards use them); only the prefix (`metricsPrefix`, default `magure_`) varies.
 */
export class AnalyticsMetrics {
  /** Rows inserted, by table. */
  readonly rowsWritten: Counter<'table'>;
  /** Rows given up (queue full, rejected by the database, or left at shutdown), by table. */
  readonly rowsDropped: Counter<'table'>;
  /** Rows written to the local spool instead of PostgreSQL (queue full, or left at shutdown), by table. */
  readonly rowsSpooled: Counter<'table'>;
  /** Duration of one batch INSERT. */
  readonly flushDuration: Histogram;
  /** Batch INSERTs that failed (the batch stays queued and is retried). */
  readonly flushFailures: Counter;
  /** Aggregator runs by result: `completed`, `skipped` (another replica held the lock), `failed`. */
  readonly aggregationRuns: Counter<'result'>;
  /** Start of the last hour whose rollups are complete, as a Unix timestamp. */
  readonly aggregationLastClosedHour: Gauge;

  private queueDepth: () => number = () => 0;
  private spoolBytes: () => number = () => 0;
  private poolStats: () => PoolStats = () => ({ total: 0, idle: 0, waiting: 0 });

  constructor(registry: Registry, prefix: string) {
    const registers = [registry];
    // The gauges read their values at scrape time, through functions bound later.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const read = this;
    new Gauge({
      name: `${prefix}analytics_queue_depth`,
      help: 'Analytics rows waiting in the write-behind queue',
      registers,
      collect() {
        this.set(read.queueDepth());
      },
    });
    new Gauge({
      name: `${prefix}db_pool_connections`,
      help: 'Connections of the analytics database pool, by state (total, idle, waiting clients)',
      labelNames: ['state'],
      registers,
      collect() {
        const stats = read.poolStats();
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
    this.rowsWritten = new Counter({
      name: `${prefix}analytics_rows_written_total`,
      help: 'Analytics rows inserted into PostgreSQL, by table',
      labelNames: ['table'],
      registers,
    });
    this.rowsDropped = new Counter({
      name: `${prefix}analytics_rows_dropped_total`,
      help: 'Analytics rows dropped (queue full, rejected by the database, or left at shutdown), by table',
      labelNames: ['table'],
      registers,
    });
    this.rowsSpooled = new Counter({
      name: `${prefix}analytics_rows_spooled_total`,
      help: 'Analytics rows written to the local spool file instead of PostgreSQL (queue full, or left at shutdown), by table',
      labelNames: ['table'],
      registers,
    });
    new Gauge({
      name: `${prefix}analytics_spool_bytes`,
      help: 'Bytes of analytics rows held in the local spool directory',
      registers,
      collect() {
        this.set(read.spoolBytes());
      },
    });
    for (const table of ANALYTICS_TABLES) {
      // Present from the start at 0, so rate() and alerts see the series before the first row.
      this.rowsWritten.inc({ table }, 0);
      this.rowsDropped.inc({ table }, 0);
      this.rowsSpooled.inc({ table }, 0);
    }
    this.flushDuration = new Histogram({
      name: `${prefix}analytics_flush_duration_seconds`,
      help: 'Duration of one analytics batch INSERT',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.flushFailures = new Counter({
      name: `${prefix}analytics_flush_failures_total`,
      help: 'Analytics batch INSERTs that failed and were retried',
      registers,
    });
    this.aggregationRuns = new Counter({
      name: `${prefix}analytics_aggregation_runs_total`,
      help: 'Runs of the hourly rollup aggregator, by result',
      labelNames: ['result'],
      registers,
    });
    this.aggregationLastClosedHour = new Gauge({
      name: `${prefix}analytics_aggregation_last_closed_hour_timestamp_seconds`,
      help: 'Start of the last hour whose analytics rollups are complete (Unix time)',
      registers,
    });
  }

  /** Reads the queue depth gauge from `depth` at each scrape. */
  watchQueue(depth: () => number): void {
    this.queueDepth = depth;
  }

  /** Reads the spool size gauge from `bytes` at each scrape. */
  watchSpool(bytes: () => number): void {
    this.spoolBytes = bytes;
  }

  /** Reads the pool connection gauge from `stats` at each scrape. */
  watchPool(stats: () => PoolStats): void {
    this.poolStats = stats;
  }
}
