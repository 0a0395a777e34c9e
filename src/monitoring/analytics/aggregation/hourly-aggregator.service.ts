import { Logger } from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';
import type { PoolClient } from 'pg';
import type { AnalyticsMetrics } from '../analytics.metrics';
import { errorMessage, type AnalyticsDatabase } from '../database/analytics-database';
import { EARLIEST_RAW_HOUR_SQL, ROLLUPS } from './rollup-queries';

/** Transaction-scoped advisory lock: one replica aggregates at a time, the others skip. */
export const AGGREGATION_LOCK_KEY = '7885080646912518002';
/** Row of `analytics_aggregation_state` this aggregator keeps its progress in. */
export const AGGREGATION_STATE_NAME = 'hourly_rollups';
/** Hours rebuilt per transaction while catching up (keeps each transaction short). */
export const AGGREGATION_CHUNK_HOURS = 6;
/** Name of the interval in the `SchedulerRegistry`. */
export const AGGREGATION_INTERVAL_NAME = 'monitoring-analytics-aggregation';

const HOUR_MS = 3_600_000;

/** Settings of the aggregator. */
export interface HourlyAggregatorSettings {
  /** Seconds between runs. */
  intervalSeconds: number;
  /** Closed hours rebuilt again on every run, so rows that arrive late are counted. */
  lookbackHours: number;
  /** Hours rebuilt per transaction. Default `AGGREGATION_CHUNK_HOURS`. */
  chunkHours?: number;
  /**
   * The current time. Default: the database's `now()`, so replicas with skewed clocks agree on
   * which hours are closed. Tests and benchmarks pass a fixed clock.
   */
  now?: () => Date;
}

/** Outcome of one run. */
export interface AggregationResult {
  /** `completed`; `skipped` when another replica holds the lock or a run is in progress; `failed`. */
  status: 'completed' | 'skipped' | 'failed';
  /** Hours whose rollups were rebuilt. */
  hoursAggregated: number;
  /** Start of the last hour whose rollups are complete, after the run. */
  lastClosedHour: Date | null;
  /** The error of a failed run. */
  error?: Error;
}

/**
 * Builds the hourly rollups from the raw tables, every `intervalSeconds` and once at start.
 *
 * Only closed hours (before the current UTC hour) are aggregated. Each run rebuilds the hours after
 * the last aggregated one (catching up however long the app was down, in chunks of
 * `AGGREGATION_CHUNK_HOURS`) plus the last `lookbackHours` closed hours again, for rows written
 * late. An hour is rebuilt by delete + insert of its rollup rows in one transaction, so runs are
 * idempotent. The transaction takes `pg_try_advisory_xact_lock`: with several replicas one does
 * the work and the others skip.
 */
export class HourlyAggregator {
  private readonly logger = new Logger('MonitoringAnalytics');
  private readonly chunkMs: number;
  private current?: Promise<AggregationResult>;
  private intervalName?: string;
  private timer?: NodeJS.Timeout;
  private stopping = false;
  private failing = false;

  constructor(
    private readonly database: AnalyticsDatabase,
    private readonly settings: HourlyAggregatorSettings,
    private readonly metrics: AnalyticsMetrics,
    private readonly scheduler?: SchedulerRegistry,
  ) {
    this.chunkMs = (settings.chunkHours ?? AGGREGATION_CHUNK_HOURS) * HOUR_MS;
  }

  /** Schedules the periodic run and starts one now. */
  start(): void {
    if (this.timer || this.stopping) return;
    this.timer = setInterval(() => void this.run(), this.settings.intervalSeconds * 1000);
    this.timer.unref();
    if (this.scheduler) {
      let name = AGGREGATION_INTERVAL_NAME;
      for (let i = 2; this.scheduler.doesExist('interval', name); i++)
        name = `${AGGREGATION_INTERVAL_NAME}-${i}`;
      this.scheduler.addInterval(name, this.timer);
      this.intervalName = name;
    }
    void this.run();
  }

  /** Stops scheduling and waits for a run in progress to finish its current chunk. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.intervalName && this.scheduler?.doesExist('interval', this.intervalName)) {
      this.scheduler.deleteInterval(this.intervalName);
    } else if (this.timer) {
      clearInterval(this.timer);
    }
    this.timer = undefined;
    await this.current?.catch(() => undefined);
  }

  /** Runs the aggregation now (a run already in progress is joined, not duplicated). */
  run(): Promise<AggregationResult> {
    this.current ??= this.runOnce().finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  /**
   * Rebuilds the rollups of every hour overlapping [from, to), whatever the saved progress and the
   * look-back window: for rows written later than the look-back allows (e.g. after a long network
   * partition of one replica). Waits for the lock instead of skipping. The progress is unchanged.
   * Returns the number of hours rebuilt.
   */
  async rebuild(from: Date, to: Date): Promise<number> {
    const start = new Date(Math.floor(from.getTime() / HOUR_MS) * HOUR_MS);
    const end = new Date(Math.ceil(to.getTime() / HOUR_MS) * HOUR_MS);
    const client = await this.database.connect();
    const detach = listenForConnectionErrors(client);
    let broken = false;
    try {
      let hours = 0;
      for (let a = start; a < end;) {
        const b = new Date(Math.min(a.getTime() + this.chunkMs, end.getTime()));
        await client.query('BEGIN');
        try {
          await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [AGGREGATION_LOCK_KEY]);
          await rebuildHours(client, a, b);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
        hours += Math.round((b.getTime() - a.getTime()) / HOUR_MS);
        a = b;
      }
      return hours;
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      detach();
      client.release(broken);
    }
  }

  private async runOnce(): Promise<AggregationResult> {
    let client: PoolClient | undefined;
    let broken = false;
    let hours = 0;
    let lastClosedHour: Date | null = null;
    let detach: (() => void) | undefined;
    try {
      client = await this.database.connect();
      detach = listenForConnectionErrors(client);
      let from: Date | undefined;
      for (;;) {
        if (this.stopping) break;
        const chunk = await this.aggregateChunk(client, from);
        if (chunk === 'locked') {
          if (hours === 0) {
            this.metrics.aggregationRuns.inc({ result: 'skipped' });
            return { status: 'skipped', hoursAggregated: 0, lastClosedHour: null };
          }
          break; // Another replica took over between two chunks: it finishes the job.
        }
        hours += chunk.hours;
        lastClosedHour = chunk.lastClosedHour;
        if (chunk.done) break;
        from = chunk.next;
      }
      if (lastClosedHour)
        this.metrics.aggregationLastClosedHour.set(lastClosedHour.getTime() / 1000);
      this.metrics.aggregationRuns.inc({ result: 'completed' });
      if (this.failing) this.logger.log('analytics aggregation recovered');
      this.failing = false;
      return { status: 'completed', hoursAggregated: hours, lastClosedHour };
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      broken = true;
      this.metrics.aggregationRuns.inc({ result: 'failed' });
      if (!this.failing)
        this.logger.warn(
          `analytics aggregation failed (${errorMessage(err)}); retried on the next run`,
        );
      this.failing = true;
      return { status: 'failed', hoursAggregated: hours, lastClosedHour, error: err };
    } finally {
      // After an error the connection may be dead or mid-transaction: do not return it to the pool.
      detach?.();
      client?.release(broken);
    }
  }

  /**
   * One transaction: takes the lock, decides the hours to rebuild (from the saved progress when
   * `from` is undefined), rebuilds up to `AGGREGATION_CHUNK_HOURS` of them, saves the progress.
   */
  private async aggregateChunk(
    client: PoolClient,
    from: Date | undefined,
  ): Promise<'locked' | { hours: number; lastClosedHour: Date | null; done: boolean; next: Date }> {
    await client.query('BEGIN');
    try {
      const lock = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_xact_lock($1::bigint) AS "locked"',
        [AGGREGATION_LOCK_KEY],
      );
      if (!lock.rows[0]?.locked) {
        await client.query('ROLLBACK');
        return 'locked';
      }
      // The database's clock decides which hours are closed: replicas' clocks may disagree.
      const now = await client.query<{ hour: Date }>(
        `SELECT date_trunc('hour', COALESCE($1::timestamptz, now()), 'UTC') AS "hour"`,
        [this.settings.now?.() ?? null],
      );
      const closedUntil = now.rows[0]!.hour;
      await client.query(
        `INSERT INTO "analytics_aggregation_state" ("name", "last_closed_hour", "updated_at")
         VALUES ($1, NULL, now()) ON CONFLICT ("name") DO NOTHING`,
        [AGGREGATION_STATE_NAME],
      );
      const state = await client.query<{ last: Date | null }>(
        `SELECT "last_closed_hour" AS "last" FROM "analytics_aggregation_state" WHERE "name" = $1 FOR UPDATE`,
        [AGGREGATION_STATE_NAME],
      );
      const last = state.rows[0]?.last ?? null;
      if (from === undefined) {
        const lookbackStart = new Date(
          closedUntil.getTime() - this.settings.lookbackHours * HOUR_MS,
        );
        if (last) {
          const catchUpStart = new Date(last.getTime() + HOUR_MS);
          from = catchUpStart < lookbackStart ? catchUpStart : lookbackStart;
        } else {
          // First run: start at the oldest raw row (rows may predate the aggregator).
          const earliest = await client.query<{ hour: Date | null }>(EARLIEST_RAW_HOUR_SQL);
          const first = earliest.rows[0]?.hour ?? null;
          from = first && first < lookbackStart ? first : lookbackStart;
        }
      }
      if (from >= closedUntil) {
        await client.query('COMMIT');
        return { hours: 0, lastClosedHour: last, done: true, next: from };
      }
      const chunkEnd = new Date(Math.min(from.getTime() + this.chunkMs, closedUntil.getTime()));
      await rebuildHours(client, from, chunkEnd);
      const lastOfChunk = new Date(chunkEnd.getTime() - HOUR_MS);
      const lastClosedHour = last && last > lastOfChunk ? last : lastOfChunk;
      await client.query(
        `UPDATE "analytics_aggregation_state" SET "last_closed_hour" = $2, "updated_at" = now() WHERE "name" = $1`,
        [AGGREGATION_STATE_NAME, lastClosedHour],
      );
      await client.query('COMMIT');
      const hours = Math.round((chunkEnd.getTime() - from.getTime()) / HOUR_MS);
      return { hours, lastClosedHour, done: chunkEnd >= closedUntil, next: chunkEnd };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}

/**
 * pg reports a lost connection both by rejecting the running query and as an 'error' event on the
 * client; while a client is checked out the pool does not listen, and an unheard 'error' event
 * would crash the host app. The rejection is handled by the caller, so the event is only absorbed.
 * Returns the function that removes the listener.
 */
function listenForConnectionErrors(client: PoolClient): () => void {
  const ignore = (): void => undefined;
  client.on('error', ignore);
  return () => client.removeListener('error', ignore);
}

/** Replaces the rollup rows of the hours in [from, to) by a full recomputation from the raw rows. */
async function rebuildHours(client: PoolClient, from: Date, to: Date): Promise<void> {
  for (const rollup of ROLLUPS) {
    await client.query(rollup.deleteSql, [from, to]);
    await client.query(rollup.insertSql, [from, to]);
  }
}
