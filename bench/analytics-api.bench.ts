import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import { MonitoringModule } from '../src/monitoring';
import { HourlyAggregator } from '../src/monitoring/analytics/aggregation/hourly-aggregator.service';
import { AnalyticsDatabase } from '../src/monitoring/analytics/database/analytics-database';
import { seedLlmUsageSql, startBenchPostgres, type BenchPostgres, type WorkloadShape } from './analytics-api-fixtures';

/*
 * Latency of the analytics API on a large table: `costs?hours=720` and
 * `timeseries?metric=cost&bucket=day&hours=720` over BENCH_ROWS (default 10 million) LLM calls
 * spread over the last 30 days, on a real PostgreSQL, through HTTP. Rollups are built by the
 * module's own hourly aggregator. Reported, p50/p95:
 * - cache off: every request reads all rollup hours of the range and the raw edges;
 * - cache on, steady: closed hours come from the per-hour cache, the raw edges and the current
 *   hour are read every time;
 * - cache on, right after an aggregator run: the hours the run may have rebuilt are read again;
 * - the first request of a fresh app (the cache filled in one pass).
 */

/** Latency percentiles of one measured request, in milliseconds. */
export interface LatencyFigures {
  path: string;
  cache: 'off' | 'on' | 'after aggregator run' | 'first request';
  requests: number;
  p50: number;
  p95: number;
  max: number;
}

/** A seeded database and a running app in front of it. */
export interface AnalyticsBenchSetup {
  shape: WorkloadShape;
  /** URL of the seeded database. */
  url: string;
  seedSeconds: number;
  aggregateSeconds: number;
  rollupRows: number;
  close(): Promise<void>;
  /** Starts an app on the seeded database with the given rollup cache size; returns its base URL. */
  app(cacheSize: number): Promise<{ base: string; aggregate(): Promise<void>; close(): Promise<void> }>;
}

function env(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

async function startApp(url: string, cacheSize: number): Promise<INestApplication> {
  @Module({
    imports: [
      MonitoringModule.forRoot({
        databaseUrl: url,
        defaultMetricsEnabled: false,
        analyticsQueryCacheSize: cacheSize,
        // The benchmark runs the aggregator itself; its timer must not fire during measurement.
        analyticsAggregationIntervalSeconds: 86_400,
      }),
    ],
  })
  class BenchAppModule {}
  const app = await NestFactory.create(BenchAppModule, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  return app;
}

/** Starts PostgreSQL, fills `llm_usage` with BENCH_ROWS rows and rolls them up with the module's aggregator. */
export async function setupAnalyticsBench(): Promise<AnalyticsBenchSetup> {
  const shape: WorkloadShape = {
    rows: env('BENCH_ROWS', 10_000_000),
    hours: env('BENCH_HOURS', 720),
    users: env('BENCH_USERS', 500),
    tenants: env('BENCH_TENANTS', 50),
    agents: env('BENCH_AGENTS', 20),
  };
  const pg: BenchPostgres = await startBenchPostgres();
  // The first app runs the migrations; seeding and aggregation go through its connection.
  const app = await startApp(pg.url, 0);
  try {
    const source: DataSource = await app.get(AnalyticsDatabase).whenReady();
    const end = new Date();
    const t0 = Date.now();
    await source.query('SELECT setseed(0.42)');
    const chunk = 1_000_000;
    for (let offset = 0; offset < shape.rows; offset += chunk) {
      const { sql, parameters } = seedLlmUsageSql(shape, offset, Math.min(chunk, shape.rows - offset), end);
      await source.query(sql, parameters);
      process.stdout.write(`  seeded ${Math.min(offset + chunk, shape.rows).toLocaleString('en-US')} rows\r`);
    }
    await source.query('VACUUM ANALYZE "llm_usage"');
    const seedSeconds = (Date.now() - t0) / 1000;
    const t1 = Date.now();
    // Forget the first run's progress so the aggregator catches up from the oldest row.
    await source.query('DELETE FROM "analytics_aggregation_state"');
    const result = await app.get(HourlyAggregator).run();
    if (result.status !== 'completed') throw new Error(`aggregation ${result.status}: ${result.error?.message ?? ''}`);
    await source.query('VACUUM ANALYZE "llm_usage_hourly"');
    await source.query('VACUUM ANALYZE "llm_usage_hourly_by_model"');
    await source.query('VACUUM ANALYZE "llm_usage_hourly_by_principal"');
    const aggregateSeconds = (Date.now() - t1) / 1000;
    const rollupRows = Number((await source.query('SELECT count(*)::text AS n FROM "llm_usage_hourly"'))[0].n);
    await app.close();
    return {
      shape,
      url: pg.url,
      seedSeconds,
      aggregateSeconds,
      rollupRows,
      close: () => pg.stop(),
      app: async (cacheSize) => {
        const a = await startApp(pg.url, cacheSize);
        // Let the aggregator's start-up run (last hours again) finish before measuring.
        await a.get(HourlyAggregator).run();
        const port = (a.getHttpServer().address() as AddressInfo).port;
        return {
          base: `http://127.0.0.1:${port}`,
          aggregate: async () => {
            const run = await a.get(HourlyAggregator).run();
            if (run.status !== 'completed') throw new Error(`aggregation ${run.status}`);
          },
          close: () => a.close(),
        };
      },
    };
  } catch (error) {
    await app.close().catch(() => undefined);
    await pg.stop();
    throw error;
  }
}

function percentile(sorted: number[], q: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

/** Milliseconds of one GET of `path`. */
async function timeRequest(base: string, path: string): Promise<number> {
  const t = process.hrtime.bigint();
  const res = await fetch(`${base}${path}`);
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${body.slice(0, 200)}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function figures_(path: string, cache: LatencyFigures['cache'], samples: number[]): LatencyFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 10) / 10;
  return { path, cache, requests: sorted.length, p50: round(percentile(sorted, 0.5)), p95: round(percentile(sorted, 0.95)), max: round(sorted[sorted.length - 1]!) };
}

/** p50 / p95 / max of `requests` sequential GETs of `path` (after `warmup` unmeasured ones). */
export async function measureEndpoint(
  base: string,
  path: string,
  cache: LatencyFigures['cache'],
  requests = 40,
  warmup = 3,
): Promise<LatencyFigures> {
  for (let i = 0; i < warmup; i++) await timeRequest(base, path);
  const samples: number[] = [];
  for (let i = 0; i < requests; i++) samples.push(await timeRequest(base, path));
  return figures_(path, cache, samples);
}

/** Latency of the first request after each of `runs` aggregator runs. */
export async function measureAfterAggregation(
  app: { base: string; aggregate(): Promise<void> },
  path: string,
  runs = 10,
): Promise<LatencyFigures> {
  await timeRequest(app.base, path);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    await app.aggregate();
    samples.push(await timeRequest(app.base, path));
  }
  return figures_(path, 'after aggregator run', samples);
}

/**
 * The measured requests: the two of the target, then cost by tenant and by user (they read
 * `llm_usage_hourly_by_principal`, one row per active tenant × user and hour).
 */
export const BENCH_PATHS = [
  '/api/analytics/costs?hours=720',
  '/api/analytics/timeseries?metric=cost&bucket=day&hours=720',
  '/api/analytics/costs/by-tenant?hours=720&limit=10',
  '/api/analytics/costs/by-user?hours=720&limit=10',
] as const;

/** Runs the whole benchmark and prints a table; returns the figures. */
export async function benchAnalyticsApi(): Promise<LatencyFigures[]> {
  const setup = await setupAnalyticsBench();
  const figures: LatencyFigures[] = [];
  try {
    console.log(
      `\n== analytics API: ${setup.shape.rows.toLocaleString('en-US')} LLM calls over ${setup.shape.hours} h ` +
        `(${setup.shape.users} users, ${setup.shape.tenants} tenants, ${setup.shape.agents} agents, 8 models) ==`,
    );
    console.log(`seeded in ${setup.seedSeconds.toFixed(1)} s; aggregated in ${setup.aggregateSeconds.toFixed(1)} s into ${setup.rollupRows.toLocaleString('en-US')} rollup rows`);
    const off = await setup.app(0);
    try {
      for (const path of BENCH_PATHS) figures.push(await measureEndpoint(off.base, path, 'off', 20, 1));
    } finally {
      await off.close();
    }
    const on = await setup.app(50_000);
    try {
      for (const path of BENCH_PATHS) {
        figures.push(figures_(path, 'first request', [await timeRequest(on.base, path)]));
        figures.push(await measureEndpoint(on.base, path, 'on'));
        figures.push(await measureAfterAggregation(on, path));
      }
    } finally {
      await on.close();
    }
    for (const f of figures) {
      const label = `${f.path} [cache ${f.cache}, n=${f.requests}]`;
      console.log(`${label.padEnd(92)} p50 ${f.p50} ms  p95 ${f.p95} ms  max ${f.max} ms`);
    }
    return figures;
  } finally {
    await setup.close();
  }
}

if (require.main === module) {
  benchAnalyticsApi().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
