/**
 * Upper bounds (inclusive, milliseconds) of the latency buckets kept in the hourly rollups
 * (`latency_ms_buckets`, `duration_ms_buckets`). A rollup's bucket array has one more element than
 * this list: the last one counts values above the largest bound (+Inf).
 *
 * The arrays hold per-bucket counts, not cumulative ones: element `i` counts values `v` with
 * `LATENCY_BUCKETS_MS[i - 1] < v <= LATENCY_BUCKETS_MS[i]` (element 0: `v <= 50`), so arrays of
 * several rollup rows are added element by element.
 *
 * Changing this list changes the meaning of stored rollups: it needs a migration that rebuilds them.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000,
]);

/** Number of elements of a rollup bucket array (the bounds plus the +Inf bucket). */
export const LATENCY_BUCKET_COUNT = LATENCY_BUCKETS_MS.length + 1;

/** Index of the bucket a latency falls into (the last index for values above every bound). */
export function latencyBucketIndex(latencyMs: number): number {
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) {
    if (latencyMs <= LATENCY_BUCKETS_MS[i]!) return i;
  }
  return LATENCY_BUCKETS_MS.length;
}

/**
 * Adds bucket arrays element by element (e.g. the rows of several hours). Accepts the strings
 * PostgreSQL returns for `bigint[]`. Missing elements count as zero.
 */
export function sumLatencyBuckets(
  arrays: ReadonlyArray<ReadonlyArray<number | string | bigint> | null>,
): number[] {
  const total = new Array<number>(LATENCY_BUCKET_COUNT).fill(0);
  for (const array of arrays) {
    if (!array) continue;
    for (let i = 0; i < LATENCY_BUCKET_COUNT; i++) total[i]! += Number(array[i] ?? 0);
  }
  return total;
}

/**
 * Estimates a quantile (0..1) from per-bucket counts by linear interpolation inside the bucket
 * that holds it, as Prometheus' `histogram_quantile` does. The lower edge of the first bucket is 0;
 * a quantile that falls in the +Inf bucket returns the largest finite bound (or `maxValue` when
 * given, e.g. the rollup's `latency_ms_max`). Returns null when the counts are all zero.
 */
export function quantileFromLatencyBuckets(
  counts: ReadonlyArray<number | string | bigint>,
  quantile: number,
  maxValue?: number,
): number | null {
  if (!(quantile >= 0 && quantile <= 1))
    throw new RangeError(`quantile must be within [0, 1], got ${quantile}`);
  const values = counts.map((c) => Number(c));
  const total = values.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = quantile * total;
  let seen = 0;
  for (let i = 0; i < values.length; i++) {
    const count = values[i]!;
    if (count > 0 && seen + count >= rank) {
      const upper = LATENCY_BUCKETS_MS[i];
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!;
      if (upper === undefined) return maxValue ?? lower;
      const estimate = lower + ((upper - lower) * (rank - seen)) / count;
      return maxValue !== undefined ? Math.min(estimate, maxValue) : estimate;
    }
    seen += count;
  }
  return maxValue ?? LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
}
