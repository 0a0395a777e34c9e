import { Logger } from '@nestjs/common';
import type { AnalyticsMetrics } from '../analytics.metrics';
import { errorMessage } from '../database/analytics-database';
import { isRejectedRowsError, type AnalyticsBatchWriter } from './analytics-batch-writer';
import { ANALYTICS_TABLES, type AnalyticsRow, type AnalyticsTable } from './analytics-tables';
import type { MonitoringEvent } from '../../events/monitoring-event';
import { mapEventToRow } from './analytics-row.mapper';

/**
 * A queued entry: a row, or the event it will be made from. Events are mapped to rows by the
 * flusher, off the caller's stack, once (so a retried batch keeps its row ids).
 */
export type QueuedRow = AnalyticsRow | MonitoringEvent;

/** Settings of the write-behind queue. */
export interface AnalyticsWriteQueueSettings {
  /** Most rows held; beyond it new rows are dropped and counted. */
  capacity: number;
  /** Most rows per INSERT. */
  batchSize: number;
  /** A partial batch is written at most this long after its first row arrived. */
  flushIntervalMs: number;
  /** First retry delay after a failed INSERT (doubles up to `retryMaxMs`). */
  retryInitialMs?: number;
  /** Longest retry delay. */
  retryMaxMs?: number;
}

/** Outcome of `drain()`. */
export interface DrainResult {
  /** Rows that could not be written before the deadline (counted as dropped). */
  dropped: number;
}

/**
 * The write-behind queue between the analytics sink and PostgreSQL. `enqueue` is O(1) and never
 * waits for the database; a single flusher writes batches (when one is full, or every
 * `flushIntervalMs`). A failed batch stays queued and is retried with exponential backoff, so a
 * database outage loses nothing until `capacity` rows are waiting; past that, new rows are dropped
 * and counted in `analytics_rows_dropped_total`, never silently.
 */
export class AnalyticsWriteQueue {
  private readonly logger = new Logger('MonitoringAnalytics');
  private readonly pending = new Map<AnalyticsTable, QueuedRow[]>(
    ANALYTICS_TABLES.map((t) => [t, []]),
  );
  private size = 0;
  private inFlight?: Promise<boolean>;
  private timer?: NodeJS.Timeout;
  private immediate?: NodeJS.Immediate;
  private failures = 0;
  private nextAttemptAt = 0;
  private running = false;
  private closed = false;
  private lastDropWarning = 0;
  private droppedSinceWarning = 0;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;

  constructor(
    private readonly writer: AnalyticsBatchWriter,
    private readonly settings: AnalyticsWriteQueueSettings,
    private readonly metrics: AnalyticsMetrics,
  ) {
    this.retryInitialMs = settings.retryInitialMs ?? 250;
    this.retryMaxMs = settings.retryMaxMs ?? 5_000;
  }

  /** Rows waiting to be written. */
  get depth(): number {
    return this.size;
  }

  /** Failed INSERTs since the last successful one. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /**
   * Queues a row and returns at once. Returns false (and counts the row as dropped) when the queue
   * is full or closed.
   */
  enqueue(table: AnalyticsTable, row: QueuedRow): boolean {
    if (this.closed || this.size >= this.settings.capacity) {
      this.drop(
        table,
        1,
        this.closed ? 'the queue is closed' : `the queue is full (${this.settings.capacity} rows)`,
      );
      return false;
    }
    const rows = this.pending.get(table)!;
    rows.push(row);
    this.size++;
    if (rows.length >= this.settings.batchSize) this.flushSoon();
    return true;
  }

  /** Starts the periodic flusher (rows queued before are kept and written). */
  start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.timer = setInterval(() => this.flushSoon(), this.settings.flushIntervalMs);
    this.timer.unref();
    this.flushSoon();
  }

  /**
   * Writes every row queued now (in batches), unless a previous failure's backoff is running.
   * Resolves with true when everything queued at the start was written.
   */
  flush(): Promise<boolean> {
    if (this.inFlight) return this.inFlight;
    this.inFlight = this.flushQueued().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Stops accepting rows and writes what is queued, retrying failures, until empty or until
   * `timeoutMs` has passed; what is left is counted as dropped and reported.
   */
  async drain(timeoutMs: number): Promise<DrainResult> {
    const deadline = Date.now() + timeoutMs;
    this.stopTimers();
    this.running = true;
    while (this.size > 0 && Date.now() < deadline) {
      const ok = await withDeadline(this.flush(), deadline);
      if (ok === true) continue;
      const wait = Math.min(this.retryDelay(), deadline - Date.now());
      if (wait > 0) await sleep(wait);
    }
    this.closed = true;
    this.running = false;
    let dropped = 0;
    for (const [table, rows] of this.pending) {
      if (rows.length === 0) continue;
      dropped += rows.length;
      this.metrics.rowsDropped.inc({ table }, rows.length);
      this.pending.set(table, []);
    }
    this.size = 0;
    if (dropped > 0) {
      this.logger.error(
        `analytics shutdown: ${dropped} rows could not be written within ${timeoutMs} ms and were dropped`,
      );
    }
    return { dropped };
  }

  /** Stops the flusher without writing (the rows stay queued). */
  stop(): void {
    this.stopTimers();
    this.running = false;
  }

  private stopTimers(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  /** Starts a flush off the caller's stack, unless one runs, the backoff waits, or nothing is queued. */
  private flushSoon(): void {
    if (!this.running || this.inFlight || this.immediate || this.size === 0) return;
    if (Date.now() < this.nextAttemptAt) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      void this.flush();
    });
  }

  private async flushQueued(): Promise<boolean> {
    // Only what is queued now: rows arriving meanwhile wait for a full batch or the next tick,
    // so a steady trickle is written in batches rather than one row at a time.
    const quota = new Map<AnalyticsTable, number>();
    for (const [table, rows] of this.pending) quota.set(table, rows.length);
    let remaining = true;
    while (remaining) {
      remaining = false;
      // Round robin, one batch per table per turn, so a busy table cannot starve the others.
      for (const table of ANALYTICS_TABLES) {
        const left = quota.get(table)!;
        if (left === 0) continue;
        const rows = this.pending.get(table)!;
        const take = this.materialize(table, rows, Math.min(left, this.settings.batchSize));
        const batch = rows.slice(0, take) as AnalyticsRow[];
        if (batch.length === 0) {
          quota.set(table, 0);
          continue;
        }
        try {
          await this.writeBatch(table, batch);
        } catch (error) {
          this.onFailure(error);
          return false;
        }
        // The queue may have been drained away at shutdown while this batch was in flight.
        if (this.pending.get(table) === rows) {
          rows.splice(0, batch.length);
          this.size -= batch.length;
        }
        quota.set(table, left - batch.length);
        if (left - batch.length > 0) remaining = true;
      }
    }
    if (this.closed) return this.size === 0;
    if (this.failures > 0)
      this.logger.log(`analytics writes recovered after ${this.failures} failed attempts`);
    this.failures = 0;
    this.nextAttemptAt = 0;
    // Full batches that built up meanwhile go out at once.
    for (const rows of this.pending.values()) {
      if (rows.length >= this.settings.batchSize) {
        setImmediate(() => this.flushSoon());
        break;
      }
    }
    return true;
  }

  /**
   * Maps the first `count` entries of `rows` that are still events to rows, in place. An event that
   * cannot be mapped is removed and counted as dropped. Returns how many entries are now ready.
   */
  private materialize(table: AnalyticsTable, rows: QueuedRow[], count: number): number {
    let i = 0;
    while (i < count && i < rows.length) {
      const entry = rows[i]!;
      if (Array.isArray(entry)) {
        i++;
        continue;
      }
      let mapped: AnalyticsRow | undefined;
      try {
        mapped = mapEventToRow(entry as MonitoringEvent)?.row;
      } catch (error) {
        this.logger.warn(`an analytics event could not be mapped to a row: ${errorMessage(error)}`);
      }
      if (mapped) {
        rows[i] = mapped;
        i++;
      } else {
        rows.splice(i, 1);
        this.size--;
        this.drop(table, 1, 'an event could not be mapped to a row');
      }
    }
    return Math.min(count, rows.length);
  }

  /** Inserts a batch; splits it to isolate and drop rows the database rejects as invalid. */
  private async writeBatch(table: AnalyticsTable, rows: readonly AnalyticsRow[]): Promise<void> {
    const end = this.metrics.flushDuration.startTimer();
    try {
      const { inserted } = await this.writer.write(table, rows);
      end();
      this.metrics.rowsWritten.inc({ table }, inserted);
      return;
    } catch (error) {
      end();
      this.metrics.flushFailures.inc();
      if (!isRejectedRowsError(error)) throw error;
      if (rows.length === 1) {
        this.drop(table, 1, `the database rejected a row: ${errorMessage(error)}`);
        return;
      }
    }
    const half = Math.ceil(rows.length / 2);
    await this.writeBatch(table, rows.slice(0, half));
    await this.writeBatch(table, rows.slice(half));
  }

  private onFailure(error: unknown): void {
    this.failures++;
    const delay = this.retryDelay();
    this.nextAttemptAt = Date.now() + delay;
    if (this.failures === 1) {
      this.logger.warn(
        `analytics write failed (${errorMessage(error)}); ${this.size} rows stay queued and are retried`,
      );
    }
    if (this.running && !this.closed) {
      // The interval may be longer than the backoff: come back when the backoff ends.
      setTimeout(() => this.flushSoon(), delay + 1).unref();
    }
  }

  private retryDelay(): number {
    if (this.failures === 0) return 0;
    const base = Math.min(
      this.retryMaxMs,
      this.retryInitialMs * 2 ** Math.min(this.failures - 1, 16),
    );
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private drop(table: AnalyticsTable, count: number, reason: string): void {
    this.metrics.rowsDropped.inc({ table }, count);
    this.droppedSinceWarning += count;
    const now = Date.now();
    if (now - this.lastDropWarning >= 60_000) {
      this.logger.warn(`analytics rows dropped: ${this.droppedSinceWarning} (${reason})`);
      this.lastDropWarning = now;
      this.droppedSinceWarning = 0;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with the promise's value, or with undefined once the deadline has passed. */
async function withDeadline<T>(promise: Promise<T>, deadline: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
