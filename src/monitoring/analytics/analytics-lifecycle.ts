import {
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { MonitoringReadiness } from '../lifecycle/monitoring-readiness';
import type { HourlyAggregator } from './aggregation/hourly-aggregator.service';
import { errorMessage, type AnalyticsDatabase } from './database/analytics-database';
import type { AnalyticsSpool } from './ingest/analytics-spool';
import type { AnalyticsWriteQueue } from './ingest/analytics-write-queue';

/** Time kept at the end of the shutdown budget for writing the spool and closing the pool. */
const CLOSE_RESERVE_MS = 500;

/**
 * Starts and stops the analytics pipeline in the one order that loses nothing: open the spool
 * and connect (and migrate) before writing; at shutdown stop the aggregator, drain the queue, and
 * only then close the pool and the embedded database. One object owns the order because Nest
 * runs the shutdown hooks of a module's providers concurrently.
 *
 * The queue is flushed while the HTTP server closes, not after: `beforeApplicationShutdown`
 * switches it to writing at once, the requests still in flight add their rows meanwhile, and
 * `onApplicationShutdown` (after the server has closed) writes the rest, within the shutdown
 * budget. Rows still unwritten then stay in the spool and are written at the next start.
 */
export class AnalyticsLifecycle
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('MonitoringAnalytics');
  private connecting?: Promise<void>;
  private shutDown = false;
  private stoppingSince?: number;
  private aggregatorStopped?: Promise<void>;

  constructor(
    readonly database: AnalyticsDatabase,
    readonly queue: AnalyticsWriteQueue,
    readonly aggregator: HourlyAggregator,
    private readonly shutdownTimeoutMs: number,
    readonly spool?: AnalyticsSpool,
    private readonly readiness?: MonitoringReadiness,
  ) {}

  /** Opens the spool (before any row is queued); without it the queue runs in memory only. */
  onModuleInit(): void {
    if (!this.spool) return;
    try {
      this.spool.open();
      if (this.spool.bytes > 0) {
        this.logger.log(
          `analytics spool ${this.spool.directory} holds ${this.spool.bytes} bytes from a previous run; they are written once the database is reachable`,
        );
      }
    } catch (error) {
      this.logger.error(
        `analytics spool unavailable (${errorMessage(error)}): rows are held in memory only`,
      );
    }
  }

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

  /** Shutdown begins: stop the aggregator and write queued rows at once, while HTTP closes. */
  beforeApplicationShutdown(): void {
    if (this.stoppingSince !== undefined) return;
    this.stoppingSince = Date.now();
    this.aggregatorStopped = this.aggregator.stop().catch(() => undefined);
    if (this.database.dataSource) this.queue.hurry();
  }

  /**
   * Drains the queue until the shutdown deadline (`shutdownTimeoutMs` from the start of shutdown,
   * and at most `analyticsShutdownTimeoutMs`), keeps what is left in the spool, then closes the
   * database.
   */
  async onApplicationShutdown(): Promise<void> {
    if (this.shutDown) return;
    this.shutDown = true;
    const since = this.stoppingSince ?? Date.now();
    const deadline = Math.min(
      since + this.shutdownTimeoutMs,
      (this.readiness?.deadline ?? Number.POSITIVE_INFINITY) - CLOSE_RESERVE_MS,
    );
    await withTimeout(this.aggregatorStopped ?? this.aggregator.stop(), Math.max(0, deadline - Date.now()));
    // Never connected: nothing suggests the database will appear within the shutdown window,
    // so the rows go to the spool (or are counted as dropped) at once.
    const drainMs = this.database.dataSource ? Math.max(0, deadline - Date.now()) : 0;
    await this.queue.drain(drainMs);
    try {
      this.spool?.close();
    } catch (error) {
      this.logger.error(`analytics spool could not be closed: ${errorMessage(error)}`);
    }
    const closed = await withTimeout(
      this.database.close().then(() => true),
      Math.max(CLOSE_RESERVE_MS, deadline + CLOSE_RESERVE_MS - Date.now()),
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
