import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { HourlyAggregator } from './aggregation/hourly-aggregator.service';
import { errorMessage, type AnalyticsDatabase } from './database/analytics-database';
import type { AnalyticsWriteQueue } from './ingest/analytics-write-queue';

/**
 * Starts and stops the analytics pipeline in the one order that loses nothing: connect (and
 * migrate) before writing; at shutdown stop the aggregator, drain the queue, and only then close
 * the pool and the embedded database. One object owns the order because Nest runs the shutdown
 * hooks of a module's providers concurrently.
 */
export class AnalyticsLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('MonitoringAnalytics');
  private connecting?: Promise<void>;
  private shutDown = false;

  constructor(
    readonly database: AnalyticsDatabase,
    readonly queue: AnalyticsWriteQueue,
    readonly aggregator: HourlyAggregator,
    private readonly shutdownTimeoutMs: number,
  ) {}

  /**
   * Makes one connection attempt during startup (so a reachable database is ready when the app
   * is); if it fails the app starts anyway and the connection is retried in the background while
   * events wait in the queue.
   */
  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.database.open();
      this.startWorkers();
    } catch {
      // openWithRetry logs the failure (once) and the recovery.
      this.connecting = this.database
        .openWithRetry()
        .then(() => {
          if (this.database.dataSource && !this.shutDown) this.startWorkers();
        })
        .catch((e: unknown) =>
          this.logger.error(`analytics database connection abandoned: ${errorMessage(e)}`),
        );
    }
  }

  /** Drains the queue (bounded by `analyticsShutdownTimeoutMs`), then closes the database. */
  async onApplicationShutdown(): Promise<void> {
    if (this.shutDown) return;
    this.shutDown = true;
    const deadline = Date.now() + this.shutdownTimeoutMs;
    await withTimeout(this.aggregator.stop(), Math.max(0, deadline - Date.now()));
    // Never connected: nothing suggests the database will appear within the shutdown window,
    // so the rows are counted as dropped at once instead of holding up the shutdown.
    const drainMs = this.database.dataSource ? Math.max(0, deadline - Date.now()) : 0;
    await this.queue.drain(drainMs);
    const closed = await withTimeout(
      this.database.close().then(() => true),
      Math.max(1_000, deadline - Date.now()),
    );
    if (closed !== true)
      this.logger.error('analytics database did not close within the shutdown timeout');
    await this.connecting;
  }

  private startWorkers(): void {
    this.queue.start();
    this.aggregator.start();
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.catch(() => undefined),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
