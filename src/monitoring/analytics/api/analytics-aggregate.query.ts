import { LATENCY_BUCKET_COUNT, LATENCY_BUCKETS_MS } from '../latency-buckets';
import { parseCentsToNano } from './analytics-money';
import { DAY_MS, HOUR_MS, type RangePlan, type TimeRange } from './analytics-range';
import type { FactTable } from './analytics-fact-tables';
import type { RollupHourCache } from './analytics-rollup-hour.cache';

/**
 * What the query engine needs from a database connection: TypeORM's `DataSource` (and its
 * `EntityManager` / `QueryRunner`) fit as they are.
 */
export interface AnalyticsSqlRunner {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/** Time bucket of a series. */
export type SeriesBucket = 'hour' | 'day';

/** One aggregation over a range of a fact table. */
export interface AggregateRequest<D extends string, M extends string> {
  table: FactTable<D, M>;
  plan: RangePlan;
  /** Dimensions to group by (none: one total row). */
  groupBy: readonly NoInfer<D>[];
  /** Also group by time bucket (UTC). */
  timeBucket?: SeriesBucket;
  /** Equality filters; every value is bound as a parameter. */
  filters: Partial<Record<NoInfer<D>, string>>;
  measures: readonly M[];
  /** Also compute the latency distribution (count, sum, max, percentiles). */
  latency?: boolean;
  /**
   * Exact percentiles from raw rows. Default: when the plan has no rollup part. Set false when
   * the raw part is merged with a rollup read separately (bucket counts are needed then).
   */
  exactPercentiles?: boolean;
}

/** The latency distribution of one group. */
export interface LatencyAggregate {
  /** Rows with a latency value. */
  count: bigint;
  sumMs: bigint;
  maxMs: number | null;
  /** Per-bucket counts over `LATENCY_BUCKETS_MS` (+Inf last); empty when `exact` is set. */
  buckets: bigint[];
  /** Exact percentiles, present only when the whole range came from raw rows. */
  exact?: { p50: number | null; p95: number | null };
}

/** One output group: its dimension values ('' and NULL become null), measures, and latency. */
export interface AggregateRow<D extends string, M extends string> {
  keys: Record<D, string | null>;
  /** Start of the time bucket (epoch ms) when grouped by time. */
  bucketStart?: number;
  /** Counts as exact integers; cents measures as billionths of a cent. */
  values: Record<M, bigint>;
  latency?: LatencyAggregate;
}

/** Collects bound parameters and hands out their `$n` placeholders. */
class BoundParameters {
  readonly values: unknown[] = [];
  bind(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

type Part = 'raw' | 'rollup';

/** A compiled SQL statement for one part of a plan. */
export interface CompiledPart {
  sql: string;
  parameters: unknown[];
}

type ParsedRow = Record<string, string | null>;

function bucketExpression(part: Part, timeColumn: string, bucket: SeriesBucket): string {
  const column = part === 'rollup' ? '"hour"' : timeColumn;
  if (part === 'rollup' && bucket === 'hour') return column;
  // UTC buckets by plain arithmetic on the instant: date_trunc with two arguments would follow
  // the session's time zone (in +05:30 an "hour" would start at :30), and with a zone argument
  // it converts every row, which is several times slower.
  return `date_bin('1 ${bucket}', ${column}, TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
}

function latencyBucketFilters(column: string): string[] {
  const filters: string[] = [];
  let lower: number | null = null;
  for (const upper of LATENCY_BUCKETS_MS) {
    filters.push(lower === null ? `${column} <= ${upper}` : `${column} > ${lower} AND ${column} <= ${upper}`);
    lower = upper;
  }
  filters.push(`${column} > ${lower}`);
  return filters;
}

/** Builds the SQL of one part (raw pieces or rollup hours) of an aggregation. */
export function compilePart<D extends string, M extends string>(
  request: AggregateRequest<D, M>,
  part: Part,
  ranges: readonly TimeRange[],
  exactPercentiles: boolean,
  perHour = false,
): CompiledPart {
  const { table } = request;
  const params = new BoundParameters();
  const select: string[] = [];
  const groupExpressions: string[] = [];

  request.groupBy.forEach((name, i) => {
    const d = table.dimensions[name];
    const expr = part === 'rollup' ? d.rollup : d.nullable ? `coalesce(${d.raw}, '')` : d.raw;
    select.push(`${expr} AS "k${i}"`);
    groupExpressions.push(expr);
  });
  if (perHour) {
    // One result per rollup hour (time buckets are then derived from the hour in JS).
    select.push(`(extract(epoch from "hour") * 1000)::bigint::text AS "h_start"`);
    groupExpressions.push('"hour"');
  } else if (request.timeBucket) {
    const expr = bucketExpression(part, table.rawTime, request.timeBucket);
    // Grouped by the bucket itself: the conversion to epoch milliseconds runs once per group.
    select.push(`(extract(epoch from ${expr}) * 1000)::bigint::text AS "t_start"`);
    groupExpressions.push(expr);
  }
  for (const name of request.measures) {
    const m = table.measures[name];
    select.push(`(${part === 'rollup' ? m.rollup : m.raw})::text AS "m_${name}"`);
  }
  if (request.latency) {
    const l = table.latency;
    if (part === 'rollup') {
      select.push(`sum(${l.rollupSum})::text AS "l_sum"`, `max(${l.rollupMax})::text AS "l_max"`);
      for (let i = 1; i <= LATENCY_BUCKET_COUNT; i++) select.push(`sum(${l.rollupBuckets}[${i}])::text AS "l_b${i - 1}"`);
    } else {
      select.push(`count(${l.raw})::text AS "l_count"`, `sum(${l.raw})::text AS "l_sum"`, `max(${l.raw})::text AS "l_max"`);
      if (exactPercentiles) {
        select.push(
          `(percentile_cont(0.5) WITHIN GROUP (ORDER BY ${l.raw}))::text AS "l_p50"`,
          `(percentile_cont(0.95) WITHIN GROUP (ORDER BY ${l.raw}))::text AS "l_p95"`,
        );
      } else {
        latencyBucketFilters(l.raw).forEach((f, i) => select.push(`count(*) FILTER (WHERE ${f})::text AS "l_b${i}"`));
      }
    }
  }

  const timeColumn = part === 'rollup' ? '"hour"' : table.rawTime;
  const timeConditions = ranges.map(
    (r) =>
      `(${timeColumn} >= ${params.bind(r.from.toISOString())}::timestamptz AND ${timeColumn} < ${params.bind(r.to.toISOString())}::timestamptz)`,
  );
  const where = [timeConditions.length === 1 ? timeConditions[0]! : `(${timeConditions.join(' OR ')})`];
  for (const name of Object.keys(request.filters) as D[]) {
    const value = request.filters[name];
    if (value === undefined) continue;
    const d = table.dimensions[name];
    where.push(`${part === 'rollup' ? d.rollup : d.raw} = ${params.bind(value)}`);
  }

  const from = part === 'rollup' ? table.rollupTable : table.rawTable;
  const groupBy = groupExpressions.length > 0 ? ` GROUP BY ${groupExpressions.join(', ')}` : '';
  const sql = `SELECT ${select.join(', ')} FROM ${from} WHERE ${where.join(' AND ')}${groupBy}`;
  return { sql, parameters: params.values };
}

function toBigInt(value: string | null | undefined): bigint {
  return value === null || value === undefined ? 0n : BigInt(value);
}

function toNumberOrNull(value: string | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/**
 * Turns rows of one part into groups keyed by their dimension values and bucket. Several rows may
 * fall into one group (rollup rows read per hour, summed into a day bucket or a total).
 */
function parseRows<D extends string, M extends string>(
  request: AggregateRequest<D, M>,
  part: Part,
  rows: ParsedRow[],
  exactPercentiles: boolean,
): Map<string, AggregateRow<D, M>> {
  const groups = new Map<string, AggregateRow<D, M>>();
  for (const row of rows) {
    const keys = {} as Record<D, string | null>;
    const keyParts: string[] = [];
    request.groupBy.forEach((name, i) => {
      const v = row[`k${i}`] ?? '';
      keys[name] = v === '' ? null : v;
      keyParts.push(v);
    });
    const out: AggregateRow<D, M> = { keys, values: {} as Record<M, bigint> };
    if (request.timeBucket) {
      const hour = row['h_start'];
      const size = request.timeBucket === 'day' ? DAY_MS : HOUR_MS;
      out.bucketStart = hour != null ? Math.floor(Number(hour) / size) * size : Number(row['t_start']);
      keyParts.push(String(out.bucketStart));
    }
    for (const name of request.measures) {
      const raw = row[`m_${name}`];
      out.values[name] = request.table.measures[name].kind === 'cents' ? parseCentsToNano(raw) : toBigInt(raw);
    }
    if (request.latency) {
      const buckets: bigint[] = [];
      if (!exactPercentiles) for (let i = 0; i < LATENCY_BUCKET_COUNT; i++) buckets.push(toBigInt(row[`l_b${i}`]));
      out.latency = {
        count: part === 'rollup' ? buckets.reduce((a, b) => a + b, 0n) : toBigInt(row['l_count']),
        sumMs: toBigInt(row['l_sum']),
        maxMs: toNumberOrNull(row['l_max']),
        buckets,
      };
      if (exactPercentiles) out.latency.exact = { p50: toNumberOrNull(row['l_p50']), p95: toNumberOrNull(row['l_p95']) };
    }
    addRow(groups, JSON.stringify(keyParts), out, request.measures);
  }
  return groups;
}

function addRow<D extends string, M extends string>(
  target: Map<string, AggregateRow<D, M>>,
  key: string,
  row: AggregateRow<D, M>,
  measures: readonly M[],
): void {
  const existing = target.get(key);
  if (!existing) {
    target.set(key, structuredClone(row));
    return;
  }
  for (const name of measures) existing.values[name] += row.values[name];
  if (existing.latency && row.latency) {
    const a = existing.latency;
    const b = row.latency;
    a.count += b.count;
    a.sumMs += b.sumMs;
    a.maxMs = a.maxMs === null ? b.maxMs : b.maxMs === null ? a.maxMs : Math.max(a.maxMs, b.maxMs);
    a.buckets = a.buckets.map((v, i) => v + (b.buckets[i] ?? 0n));
  }
}

/** Adds the groups of `source` into `target` (sums, maxima, bucket counts). */
export function mergeInto<D extends string, M extends string>(
  target: Map<string, AggregateRow<D, M>>,
  source: Map<string, AggregateRow<D, M>>,
  measures: readonly M[],
): void {
  for (const [key, row] of source) addRow(target, key, row, measures);
}

/** The groups of rows as a map keyed like `runAggregate` keys them. */
export function keyedRows<D extends string, M extends string>(
  request: Pick<AggregateRequest<D, M>, 'groupBy' | 'timeBucket'>,
  rows: AggregateRow<D, M>[],
): Map<string, AggregateRow<D, M>> {
  const map = new Map<string, AggregateRow<D, M>>();
  for (const row of rows) {
    const parts: string[] = request.groupBy.map((d) => row.keys[d] ?? '');
    if (request.timeBucket) parts.push(String(row.bucketStart));
    map.set(JSON.stringify(parts), row);
  }
  return map;
}

/** Caches the rollup part of aggregations; see `AnalyticsQueryCache`. */
export interface RollupResultCache {
  get(key: string): ParsedRow[] | undefined;
  set(key: string, rows: ParsedRow[]): void;
}

/** Where rollup results may be cached. */
export interface RollupCaches {
  /** Per closed hour, for reports whose groups are few (see `RollupHourCache`). */
  hourly?: RollupHourCache;
  /** Whole rollup spans, keyed with the aggregator's progress, for the other reports. */
  whole?: { store: RollupResultCache; rollupStamp: string };
}

/** Reports grouped only by low-cardinality columns: small enough to cache per hour. */
function cacheablePerHour<D extends string, M extends string>(request: AggregateRequest<D, M>): boolean {
  return request.groupBy.every((d) => !request.table.dimensions[d].highCardinality);
}

/**
 * The rollup part of `range`, from the hour cache: only the hours it lacks are read (one query
 * over their span, grouped by hour as well), and the merged result of a repeated range is reused.
 */
async function rollupPerHour<D extends string, M extends string>(
  runner: AnalyticsSqlRunner,
  request: AggregateRequest<D, M>,
  range: TimeRange,
  cache: RollupHourCache,
): Promise<Map<string, AggregateRow<D, M>>> {
  // The shape: the SQL and the filter values (the first two parameters are the time range).
  const template = compilePart(request, 'rollup', [range], false, true);
  const shape = `${template.sql}\u0000${JSON.stringify(template.parameters.slice(2))}`;
  const first = range.from.getTime();
  const end = range.to.getTime();
  // The merged result also depends on the time bucket, which the per-hour SQL leaves out.
  const memoKey = `${shape}\u0000${request.timeBucket ?? ''}`;
  const memo = cache.getMerged<Map<string, AggregateRow<D, M>>>(memoKey, first, end);
  if (memo) {
    cache.touch(shape);
    return memo;
  }
  let missingFrom: number | undefined;
  let missingTo = first;
  for (let h = first; h < end; h += HOUR_MS) {
    if (cache.get(shape, h) === undefined) {
      missingFrom ??= h;
      missingTo = h + HOUR_MS;
    }
  }
  let fresh: Map<number, ParsedRow[]> | undefined;
  if (missingFrom !== undefined) {
    const span = { from: new Date(missingFrom), to: new Date(missingTo) };
    const compiled = compilePart(request, 'rollup', [span], false, true);
    const rows = (await runner.query(compiled.sql, compiled.parameters)) as ParsedRow[];
    fresh = new Map();
    for (let h = missingFrom; h < missingTo; h += HOUR_MS) fresh.set(h, []);
    for (const row of rows) fresh.get(Number(row['h_start']))?.push(row);
    cache.store(shape, fresh);
  } else {
    cache.touch(shape);
  }
  // Rows just read come from `fresh` (the cache may have evicted them again when full).
  const all: ParsedRow[] = [];
  for (let h = first; h < end; h += HOUR_MS) all.push(...(fresh?.get(h) ?? cache.get(shape, h) ?? []));
  const merged = parseRows(request, 'rollup', all, false);
  cache.setMerged(memoKey, shape, first, end, merged);
  return merged;
}

/**
 * Runs one aggregation: the rollup hours (when the plan has some) and the raw pieces, merged
 * group by group. With no rollup part, percentiles are computed exactly by PostgreSQL; otherwise
 * each part returns latency bucket counts, merged here and interpolated by the caller.
 *
 * Rollup results may come from `caches`: per hour for reports with few groups, else as a whole
 * span keyed with the aggregator's progress. Raw pieces are always read.
 */
export async function runAggregate<D extends string, M extends string>(
  runner: AnalyticsSqlRunner,
  request: AggregateRequest<D, M>,
  caches: RollupCaches = {},
): Promise<AggregateRow<D, M>[]> {
  const { plan } = request;
  const exact = request.exactPercentiles ?? plan.rollup === null;
  const merged = new Map<string, AggregateRow<D, M>>();
  const pending: Promise<void>[] = [];

  if (plan.rollup !== null) {
    const rollupRange = plan.rollup;
    const hourly = caches.hourly?.enabled && cacheablePerHour(request) ? caches.hourly : undefined;
    if (hourly) {
      pending.push(rollupPerHour(runner, request, rollupRange, hourly).then((groups) => mergeInto(merged, groups, request.measures)));
    } else {
      const compiled = compilePart(request, 'rollup', [rollupRange], false);
      const whole = caches.whole;
      const key = whole ? `${whole.rollupStamp}\u0000${compiled.sql}\u0000${JSON.stringify(compiled.parameters)}` : '';
      const cached = whole?.store.get(key);
      const rows: Promise<ParsedRow[]> = cached
        ? Promise.resolve(cached)
        : (runner.query(compiled.sql, compiled.parameters) as Promise<ParsedRow[]>).then((fetched) => {
            whole?.store.set(key, fetched);
            return fetched;
          });
      pending.push(rows.then((r) => mergeInto(merged, parseRows(request, 'rollup', r, false), request.measures)));
    }
  }
  if (plan.raw.length > 0) {
    const compiled = compilePart(request, 'raw', plan.raw, exact);
    pending.push(
      (runner.query(compiled.sql, compiled.parameters) as Promise<ParsedRow[]>).then((rows) => {
        mergeInto(merged, parseRows(request, 'raw', rows, exact), request.measures);
      }),
    );
  }
  await Promise.all(pending);
  return [...merged.values()];
}
