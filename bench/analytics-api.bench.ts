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
 * module's own hourly aggregator. Reported: p50/p95 with the rollup cache off ("cold": every
 * request reads the rollup hours and the raw edges) and on ("warm": closed hours come from the
 * cache, the raw edges and the current hour are still read every time).
 */

/** Latency percentiles of one measured request, in milliseconds. */
export interface LatencyFigures {
  path: string;
  cache: 'off' | 'on';
  requests: number;
  p50: number;
  p95: number;
  max: number;
}

/** A seeded database and a running app in front of it. */
export interface AnalyticsBenchSetup {
  shape: WorkloadShape;
  seedSeconds: number;
  aggregateSeconds: number;
  rollupRows: number;
  close(): Promise<void>;
  /** Starts an app on the seeded database with the given rollup cache size; returns its base URL. */
  app(cacheSize: number): Promise<{ base: string; close(): Promise<void> }>;
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
    const aggregateSeconds = (Date.now() - t1) / 1000;
    const rollupRows = Number((await source.query('SELECT count(*)::text AS n FROM "llm_usage_hourly"'))[0].n);
    await app.close();
    return {
      shape,
      seedSeconds,
      aggregateSeconds,
      rollupRows,
      close: () => pg.stop(),
      app: async (cacheSize) => {
        const a = await startApp(pg.url, cacheSize);
        // Let the aggregator's start-up run (last hours again) finish before measuring.
        await a.get(HourlyAggregator).run();
        const port = (a.getHttpServer().address() as AddressInfo).port;
        return { base: `http://127.0.0.1:${port}`, close: () => a.close() };
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

/** p50 / p95 / max of `requests` sequential GETs of `path` (after `warmup` unmeasured ones). */
export async function measureEndpoint(base: string, path: string, cache: 'off' | 'on', requests = 40, warmup = 3): Promise<LatencyFigures> {
  const once = async () => {
    const t = process.hrtime.bigint();
    const res = await fetch(`${base}${path}`);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${body.slice(0, 200)}`);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < requests; i++) samples.push(await once());
  samples.sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 10) / 10;
  return { path, cache, requests, p50: round(percentile(samples, 0.5)), p95: round(percentile(samples, 0.95)), max: round(samples[samples.length - 1]!) };
}

/** The two measured requests. */
export const BENCH_PATHS = [
  '/api/analytics/costs?hours=720',
  '/api/analytics/timeseries?metric=cost&bucket=day&hours=720',
] as const;

/** Runs the whole benchmark and prints a table; returns the figures. */
export async function benchAnalyticsApi(): Promise<LatencyFigures[]> {
  const setup = await setupAnalyticsBench();
  const figures: LatencyFigures[] = [];
  try {
    /* eslint-disable no-console */
    console.log(
      `\n== analytics API: ${setup.shape.rows.toLocaleString('en-US')} LLM calls over ${setup.shape.hours} h ` +
        `(${setup.shape.users} users, ${setup.shape.tenants} tenants, ${setup.shape.agents} agents, 8 models) ==`,
    );
    console.log(`seeded in ${setup.seedSeconds.toFixed(1)} s; aggregated in ${setup.aggregateSeconds.toFixed(1)} s into ${setup.rollupRows.toLocaleString('en-US')} rollup rows`);
    for (const [cache, size] of [['off', 0], ['on', 256]] as const) {
      const app = await setup.app(size);
      try {
        for (const path of BENCH_PATHS) figures.push(await measureEndpoint(app.base, path, cache));
      } finally {
        await app.close();
      }
    }
    for (const f of figures) {
      console.log(`${`${f.path} (rollup cache ${f.cache})`.padEnd(82)} p50 ${f.p50} ms  p95 ${f.p95} ms  max ${f.max} ms`);
    }
    /* eslint-enable no-console */
    return figures;
  } finally {
    await setup.close();
  }
}

if (require.main === module) {
  benchAnalyticsApi().catch((error: unknown) => {
    // eslint-disable-next-line no-console
    console.error(error);
    process.exitCode = 1;
  });
}
