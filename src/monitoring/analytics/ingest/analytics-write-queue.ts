import { Logger } from '@nestjs/common';
import type { AnalyticsMetrics } from '../analytics.metrics';
import { errorMessage } from '../database/analytics-database';
import { isRejectedRowsError, type AnalyticsBatchWriter } from './analytics-batch-writer';
import { ANALYTICS_TABLES, type AnalyticsRow, type AnalyticsTable } from './analytics-tables';
import type { MonitoringEvent } from '../../events/monitoring-event';
import { mapEventToRow } from './analytics-row.mapper';
import type { AnalyticsSpool, SpooledRow, SpoolRun } from './analytics-spool';

/** Counts how many of the given row ids are present in a raw table (see `AnalyticsWriteQueue`). */
export type CountPresentRows = (table: AnalyticsTable, ids: readonly string[]) => Promise<number>;

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
  /** Seconds between two summaries of dropped rows in the log. Default 60. */
  dropSummaryIntervalMs?: number;
}

/** Outcome of `drain()`. */
export interface DrainResult {
  /** Rows that could not be written before the deadline and could not be spooled (counted as dropped). */
  dropped: number;
  /** Rows that could not be written before the deadline but are in the spool, for the next start. */
  spooled: number;
}

/**
 * The write-behind queue between the analytics sink and PostgreSQL. `enqueue` is O(1) and never
 * waits for the database; a single flusher writes batches (when one is full, or every
 * `flushIntervalMs`). A failed batch stays queued and is retried with exponential backoff, so a
 * database outage loses nothing until `capacity` rows are waiting; past that, new rows go to the
 * spool's overflow segments (when a spool is configured) and are replayed once the database keeps
 * up, or are dropped and counted in `analytics_rows_dropped_total`, never silently.
 *
 * With a spool, every accepted row is also appended to a journal segment at the end of the turn of
 * the event loop that accepted it (one `write()` for all rows of that turn, off the caller's stack),
 * and released once PostgreSQL confirms it; a process killed at any moment leaves on disk every
 * unconfirmed row accepted in an earlier turn, for the next start.
 *
 * `analytics_rows_written_total` counts the rows PostgreSQL confirmed: after a successful
 * `INSERT ... ON CONFLICT DO NOTHING` every row of the batch is in the table. Queued rows carry
 * ids this process generated, so a conflict can only come from an earlier attempt of the same
 * batch that committed although the client saw a failure (a timeout); those rows were never
 * counted, so the whole batch is counted now. Replayed spool rows may come from a previous process
 * that counted them already: they are counted as the ids that were absent before the replay.
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
  private readonly dropsByReason = new Map<string, number>();
  private dropSummaryTimer?: NodeJS.Timeout;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  /** Journal segment of each queued row, parallel to `pending` (0: not journaled yet, -1: spool full). */
  private readonly segments = new Map<AnalyticsTable, number[]>(ANALYTICS_TABLES.map((t) => [t, []]));
  /** Rows the memory queue had no room for, waiting to be appended to an overflow segment. */
  private overflow: Array<[AnalyticsTable, QueuedRow]> = [];
  private journalScheduled = false;
  private readonly journalNow = () => {
    this.journalScheduled = false;
    this.journal();
  };
  private replaying?: Promise<void>;
  private hurrying = false;

  constructor(
    private readonly writer: AnalyticsBatchWriter,
    private readonly settings: AnalyticsWriteQueueSettings,
    private readonly metrics: AnalyticsMetrics,
    private readonly spool?: AnalyticsSpool,
    private readonly countPresent?: CountPresentRows,
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
    if (this.closed) {
      this.drop(table, 1, 'the queue is closed');
      return false;
    }
    if (this.size >= this.settings.capacity) {
      if (!this.spool?.usable) {
        this.drop(table, 1, `the queue is full (${this.settings.capacity} rows)`);
        return false;
      }
      this.overflow.push([table, row]);
      this.scheduleJournal();
      return true;
    }
    const rows = this.pending.get(table)!;
    rows.push(row);
    this.size++;
    if (this.spool) {
      const usable = this.spool.usable;
      this.segments.get(table)!.push(usable ? 0 : -1);
      if (usable) this.scheduleJournal();
    }
    if (rows.length >= this.settings.batchSize) this.flushSoon();
    return true;
  }

  /**
   * Shutdown has begun: write what arrives at once (rows keep coming while in-flight requests
   * finish) and stop replaying the spool.
   */
  hurry(): void {
    if (this.closed || this.hurrying) return;
    this.hurrying = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => this.flushSoon(), Math.min(20, this.settings.flushIntervalMs));
    this.timer.unref();
    this.running = true;
    this.flushSoon();
  }

  /** Starts the periodic flusher (rows queued before are kept and written). */
  start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.timer = setInterval(() => this.tick(), this.settings.flushIntervalMs);
    this.timer.unref();
    this.tick();
  }

  private tick(): void {
    this.flushSoon();
    // Spool segments left by a previous process (or overflow of this one) are written back while
    // the database keeps up and the queue has room.
    if (
      this.spool?.hasReplayable &&
      !this.replaying &&
      !this.hurrying &&
      this.failures === 0 &&
      this.size < this.settings.capacity / 2
    ) {
      void this.replaySpool();
    }
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
    // Whatever is not journaled yet goes to the spool now; rows in the spool stay for the next start.
    this.journal();
    if (this.replaying) await withDeadline(this.replaying, deadline);
    let dropped = 0;
    let spooled = 0;
    for (const [table, rows] of this.pending) {
      if (rows.length === 0) continue;
      const segs = this.segments.get(table)!;
      const kept = this.spool ? segs.filter((s) => s > 0).length : 0;
      spooled += kept;
      dropped += rows.length - kept;
      if (kept > 0) this.metrics.rowsSpooled.inc({ table }, kept);
      if (rows.length - kept > 0) this.metrics.rowsDropped.inc({ table }, rows.length - kept);
      this.pending.set(table, []);
      this.segments.set(table, []);
    }
    this.size = 0;
    if (this.dropSummaryTimer) this.summariseDrops();
    if (spooled > 0) {
      this.logger.warn(
        `analytics shutdown: ${spooled} rows could not be written within ${timeoutMs} ms; they are kept in the spool (${this.spool!.directory}) and written at the next start`,
      );
    }
    if (dropped > 0) {
      this.logger.error(
        `analytics shutdown: ${dropped} rows could not be written within ${timeoutMs} ms and were dropped`,
      );
    }
    return { dropped, spooled };
  }

  /** Stops the flusher without writing (the rows stay queued). */
  stop(): void {
    this.stopTimers();
    this.running = false;
    if (this.dropSummaryTimer) clearTimeout(this.dropSummaryTimer);
    this.dropSummaryTimer = undefined;
  }

  /**
   * Writes the spool's replayable segments (left by a previous process, or overflow of this one)
   * into the database, one batch at a time; a segment is deleted once all its rows are in.
   * Resolves when done or at the first failure (it is tried again after the next good flush).
   */
  replaySpool(): Promise<void> {
    if (!this.spool?.usable || this.closed) return Promise.resolve();
    this.replaying ??= this.replaySegments().finally(() => {
      this.replaying = undefined;
    });
    return this.replaying;
  }

  private async replaySegments(): Promise<void> {
    const spool = this.spool!;
    for (const id of spool.replayable()) {
      if (this.closed || this.hurrying) return;
      const { rows, damaged } = spool.read(id);
      if (damaged > 0) {
        this.logger.warn(`analytics spool: ${damaged} damaged lines skipped in segment ${id}`);
      }
      const byTable = new Map<AnalyticsTable, AnalyticsRow[]>();
      for (const [table, row] of rows) {
        let list = byTable.get(table);
        if (!list) byTable.set(table, (list = []));
        list.push(row);
      }
      try {
        for (const [table, list] of byTable) {
          for (let i = 0; i < list.length; i += this.settings.batchSize) {
            if (this.closed) return;
            await this.writeBatch(table, list.slice(i, i + this.settings.batchSize), true);
          }
        }
      } catch (error) {
        this.logger.warn(`analytics spool replay paused: ${errorMessage(error)}`);
        return;
      }
      spool.remove(id);
      this.logger.log(`analytics spool: replayed ${rows.length} rows from segment ${id}`);
    }
  }

  /**
   * Journals once per turn of the event loop, in its check phase (`setImmediate`): every row
   * recorded while the poll phase ran the callbacks of that turn (typically many requests under
   * load) shares one append and one `write()`. The answer of a request is handed to its socket in
   * the same turn as its rows are recorded (or a later one), so a process killed at any moment can
   * only lose rows whose answers were written in the turn it was killed in, before its check phase:
   * under a millisecond while the process keeps up, several requests when a saturated process
   * serves every ready connection in one turn. Every row of an earlier turn is in the page cache.
   */
  private scheduleJournal(): void {
    if (this.journalScheduled) return;
    this.journalScheduled = true;
    setImmediate(this.journalNow);
  }

  /**
   * Appends the rows queued since the last call to a journal segment, in one write (mapping events
   * to rows on the way), and the rows that did not fit in memory to an overflow segment.
   */
  private journal(): void {
    const spool = this.spool;
    if (!spool?.usable) return;
    let runs: SpoolRun[] | undefined;
    for (const table of ANALYTICS_TABLES) {
      const rows = this.pending.get(table)!;
      const segs = this.segments.get(table)!;
      let from = segs.length;
      while (from > 0 && segs[from - 1] === 0) from--;
      if (from === segs.length) continue;
      this.materialize(table, rows, rows.length, from);
      if (from >= rows.length) continue;
      (runs ??= []).push({ table, rows, from });
    }
    if (runs) {
      const id = spool.appendRuns('journal', runs) ?? -1;
      for (const { table, from } of runs) this.segments.get(table)!.fill(id, from);
      if (id === -1) this.warnSpoolFull();
    }
    if (this.overflow.length > 0) {
      const overflow = this.overflow;
      this.overflow = [];
      const entries: SpooledRow[] = [];
      for (const [table, entry] of overflow) {
        const row = this.toRow(table, entry);
        if (row) entries.push([table, row]);
      }
      const id = spool.append('overflow', entries);
      const counts = new Map<AnalyticsTable, number>();
      for (const [table] of entries) counts.set(table, (counts.get(table) ?? 0) + 1);
      for (const [table, n] of counts) {
        if (id === undefined) this.drop(table, n, `the queue (${this.settings.capacity} rows) and the spool are full`);
        else this.metrics.rowsSpooled.inc({ table }, n);
      }
    }
  }

  private warnSpoolFull(): void {
    this.drop(undefined, 0, 'the spool is full: queued rows are held in memory only');
  }

  /** Removes the first `count` rows of a table (written or given up) and releases their journal entries. */
  private removeHead(table: AnalyticsTable, rows: QueuedRow[], count: number): void {
    rows.splice(0, count);
    this.size -= count;
    if (!this.spool) return;
    const released = this.segments.get(table)!.splice(0, count);
    this.releaseSegments(released);
  }

  private releaseSegments(ids: readonly number[]): void {
    let current = 0;
    let n = 0;
    for (const id of ids) {
      if (id === current) {
        n++;
        continue;
      }
      if (current > 0) this.spool!.release(current, n);
      current = id;
      n = 1;
    }
    if (current > 0) this.spool!.release(current, n);
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
        if (this.pending.get(table) === rows) this.removeHead(table, rows, batch.length);
        quota.set(table, left - batch.length);
        if (left - batch.length > 0) remaining = true;
      }
    }
    if (this.closed) return this.size === 0;
    if (this.failures > 0)
      this.logger.log(`analytics writes recovered after ${this.failures} failed attempts`);
    this.failures = 0;
    this.nextAttemptAt = 0;
    // The database keeps up: write back what overflowed (or what a previous process left).
    if (this.spool?.hasReplayable && !this.hurrying && this.size < this.settings.capacity / 2) void this.replaySpool();
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
  private materialize(table: AnalyticsTable, rows: QueuedRow[], count: number, start = 0): number {
    let i = start;
    while (i < count && i < rows.length) {
      const entry = rows[i]!;
      if (Array.isArray(entry)) {
        i++;
        continue;
      }
      const mapped = this.toRow(table, entry);
      if (mapped) {
        rows[i] = mapped;
        i++;
      } else {
        rows.splice(i, 1);
        this.size--;
        if (this.spool) this.releaseSegments(this.segments.get(table)!.splice(i, 1));
      }
    }
    return Math.min(count, rows.length);
  }

  /** The row of a queued entry, or undefined (counted as dropped) when an event cannot be mapped. */
  private toRow(table: AnalyticsTable, entry: QueuedRow): AnalyticsRow | undefined {
    if (Array.isArray(entry)) return entry as AnalyticsRow;
    try {
      const mapped = mapEventToRow(entry as MonitoringEvent)?.row;
      if (mapped) return mapped;
    } catch (error) {
      this.logger.warn(`an analytics event could not be mapped to a row: ${errorMessage(error)}`);
    }
    this.drop(table, 1, 'an event could not be mapped to a row');
    return undefined;
  }

  /**
   * Inserts a batch; splits it to isolate and drop rows the database rejects as invalid.
   * `replayed` rows may already be in the table (written and counted by a previous process):
   * only the ids absent before the insert are counted.
   */
  private async writeBatch(
    table: AnalyticsTable,
    rows: readonly AnalyticsRow[],
    replayed = false,
  ): Promise<void> {
    const end = this.metrics.flushDuration.startTimer();
    try {
      let presentBefore = 0;
      if (replayed && this.countPresent) {
        presentBefore = await this.countPresent(table, rows.map((r) => r[0] as string));
      }
      const { inserted } = await this.writer.write(table, rows);
      end();
      // See the class comment: after ON CONFLICT DO NOTHING succeeded, every row is in the table.
      const written = replayed ? (this.countPresent ? rows.length - presentBefore : inserted) : rows.length;
      this.metrics.rowsWritten.inc({ table }, written);
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
    await this.writeBatch(table, rows.slice(0, half), replayed);
    await this.writeBatch(table, rows.slice(half), replayed);
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

  /**
   * Counts dropped rows. The first drop after a quiet period is logged at once; later ones are
   * added up and logged as one summary per interval with the count of each reason, so the log
   * carries the same totals as `analytics_rows_dropped_total`.
   */
  private drop(table: AnalyticsTable | undefined, count: number, reason: string): void {
    if (table !== undefined && count > 0) this.metrics.rowsDropped.inc({ table }, count);
    if (this.dropSummaryTimer) {
      this.dropsByReason.set(reason, (this.dropsByReason.get(reason) ?? 0) + count);
      return;
    }
    const interval = this.settings.dropSummaryIntervalMs ?? 60_000;
    this.logger.warn(
      count > 0
        ? `analytics rows dropped: ${count} (${reason}); further drops are summarised every ${interval / 1000} s`
        : reason,
    );
    this.dropSummaryTimer = setTimeout(() => this.summariseDrops(), interval);
    this.dropSummaryTimer.unref();
  }

  /** Logs the drops of the interval that just ended; the next drop then starts a new interval. */
  private summariseDrops(): void {
    if (this.dropSummaryTimer) clearTimeout(this.dropSummaryTimer);
    this.dropSummaryTimer = undefined;
    let total = 0;
    const parts: string[] = [];
    for (const [reason, n] of this.dropsByReason) {
      total += n;
      if (n > 0) parts.push(`${n} because ${reason}`);
    }
    this.dropsByReason.clear();
    if (total > 0) {
      const seconds = (this.settings.dropSummaryIntervalMs ?? 60_000) / 1000;
      this.logger.warn(`analytics rows dropped in the last ${seconds} s: ${total} (${parts.join('; ')})`);
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
