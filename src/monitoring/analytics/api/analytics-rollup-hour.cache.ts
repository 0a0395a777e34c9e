import { HOUR_MS } from './analytics-range';

type Rows = Record<string, string | null>[];

/**
 * Rollup results kept per closed hour, per query shape (its SQL and filter values): a report over
 * 30 days reads the rollup once, and afterwards only the hours the aggregator has (re)built since.
 *
 * What an aggregator run can change: it rebuilds the hours after its saved progress and the last
 * `lookbackHours` closed hours again (rows written late). So when the progress row moves forward,
 * cached hours from `previous last closed hour + 1 h - lookback` on are dropped; when it goes back
 * or disappears (a reset, e.g. after a backfill), everything is dropped.
 *
 * A rebuild that both starts and finishes between two requests (progress row deleted, then
 * rebuilt up to the same hour) cannot be seen: cached hours also expire after `maxAgeMs`
 * (default 24 h), and `clear()` drops them at once.
 *
 * Memory is bounded by the number of cached result rows (`maxRows`); whole shapes are evicted,
 * least recently used first.
 */
export class RollupHourCache {
  private readonly shapes = new Map<string, Map<number, { rows: Rows; at: number }>>();
  // The last merged results per shape, by memo key (its hour span and when its oldest hour was
  // read): a repeated report skips re-adding hundreds of hours. Dropped whenever the shape's
  // hours change.
  private readonly merged = new Map<string, Map<string, { from: number; to: number; oldest: number; value: unknown }>>();
  private rows = 0;
  private seen?: { closed: number; updated: number | null };

  constructor(
    private readonly maxRows: number,
    private readonly lookbackHours: number,
    private readonly maxAgeMs = 24 * HOUR_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.maxRows > 0;
  }

  /** Number of result rows held. */
  get size(): number {
    return this.rows;
  }

  /** Brings the cache in line with the aggregator's progress (epoch ms; null: no progress row). */
  observe(lastClosedHour: number | null, updatedAt: number | null): void {
    const previous = this.seen;
    if (lastClosedHour === null) {
      this.clear();
      this.seen = undefined;
      return;
    }
    if (previous && lastClosedHour < previous.closed) {
      this.clear();
    } else if (previous && (lastClosedHour !== previous.closed || updatedAt !== previous.updated)) {
      // One more hour of margin: a run may be rebuilding while the progress row is read.
      this.dropFrom(previous.closed + HOUR_MS - (this.lookbackHours + 1) * HOUR_MS);
    }
    this.seen = { closed: lastClosedHour, updated: updatedAt };
  }

  /**
   * The merged result stored by `setMerged` under `key` for `[from, to)`, while none of the
   * hours of its shape changed.
   */
  getMerged<T>(key: string, from: number, to: number): T | undefined {
    for (const memos of this.merged.values()) {
      const memo = memos.get(key);
      if (!memo) continue;
      if (memo.from !== from || memo.to !== to) return undefined;
      if (this.clock() - memo.oldest > this.maxAgeMs) {
        memos.delete(key);
        return undefined;
      }
      return memo.value as T;
    }
    return undefined;
  }

  /**
   * Remembers a result merged from the hours `[from, to)` of `shape` (all of them cached), under
   * `key` (the shape plus whatever else the merge depended on). One result is kept per key.
   */
  setMerged(key: string, shape: string, from: number, to: number, value: unknown): void {
    const hours = this.shapes.get(shape);
    if (!hours) return;
    let oldest = Infinity;
    for (let h = from; h < to; h += HOUR_MS) {
      const entry = hours.get(h);
      if (!entry) return;
      oldest = Math.min(oldest, entry.at);
    }
    let memos = this.merged.get(shape);
    if (!memos) {
      memos = new Map();
      this.merged.set(shape, memos);
    }
    memos.set(key, { from, to, oldest, value });
  }

  /** The cached rows of `hour` for `shape`, or undefined (also when expired). */
  get(shape: string, hour: number): Rows | undefined {
    const hours = this.shapes.get(shape);
    const entry = hours?.get(hour);
    if (!entry) return undefined;
    if (this.clock() - entry.at > this.maxAgeMs) {
      this.rows -= entry.rows.length;
      hours!.delete(hour);
      this.merged.delete(shape);
      return undefined;
    }
    return entry.rows;
  }

  /** Marks `shape` as recently used. */
  touch(shape: string): void {
    const hours = this.shapes.get(shape);
    if (!hours) return;
    this.shapes.delete(shape);
    this.shapes.set(shape, hours);
  }

  /** Stores the rows of each hour of a freshly read span (hours without rows get an empty list). */
  store(shape: string, byHour: Map<number, Rows>): void {
    if (!this.enabled) return;
    let hours = this.shapes.get(shape);
    if (!hours) {
      hours = new Map();
      this.shapes.set(shape, hours);
    }
    const at = this.clock();
    this.merged.delete(shape);
    for (const [hour, rows] of byHour) {
      this.rows -= hours.get(hour)?.rows.length ?? 0;
      hours.set(hour, { rows, at });
      this.rows += rows.length;
    }
    this.touch(shape);
    while (this.rows > this.maxRows && this.shapes.size > 0) {
      const [oldest, cached] = this.shapes.entries().next().value as [string, Map<number, { rows: Rows }>];
      for (const entry of cached.values()) this.rows -= entry.rows.length;
      this.shapes.delete(oldest);
      this.merged.delete(oldest);
    }
  }

  clear(): void {
    this.shapes.clear();
    this.merged.clear();
    this.rows = 0;
  }

  private dropFrom(hour: number): void {
    for (const [shape, hours] of this.shapes) {
      for (const [h, entry] of hours) {
        if (h >= hour) {
          this.rows -= entry.rows.length;
          hours.delete(h);
          this.merged.delete(shape);
        }
      }
    }
  }
}
