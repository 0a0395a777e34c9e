import { cpus } from 'node:os';
import { benchAllSinks } from './all-sinks.bench';
import { benchAnalyticsApi } from './analytics-api.bench';
import { benchAnalyticsIngest, benchAnalyticsQueueMemory, benchAnalyticsReport } from './analytics.bench';
import { benchHttpMiddleware, benchPassThrough, benchTraceIds, benchTrackedLlmCall } from './core.bench';
import { benchHttp } from './http.bench';
import { benchMetricsRender } from './metrics-render.bench';
import { runLoggingBench } from './logging.bench';

/**
 * Runs every benchmark and prints medians. Figures vary between machines: compare the ratios
 * printed within one run. BENCH_ONLY=core,http,logging,analytics,api picks sections; BENCH_ROWS sets the
 * size of the generated analytics tables (default 10 million).
 */
async function main() {
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
  const on = (section: string) => !only || only.includes(section);
  console.log(`node ${process.version}, ${cpus().length} cores`);
  if (on('core')) {
    console.log('\n== core: decorators and HTTP middleware ==');
    await benchTrackedLlmCall();
    await benchPassThrough();
    await benchHttpMiddleware();
    await benchTraceIds();
    await benchMetricsRender();
    await benchAllSinks();
  }
  if (on('http')) {
    console.log('\n== http: whole requests through a real Nest app (Express, Fastify) vs the peer stack ==');
    await benchHttp();
  }
  if (on('logging')) {
    console.log('\n== logging: one event line vs the peer stack ==');
    await runLoggingBench();
  }
  if (on('analytics')) {
    console.log('\n== analytics: write-behind ingest and rollup reports (PostgreSQL 15) ==');
    await benchAnalyticsQueueMemory();
    await benchAnalyticsIngest();
    await benchAnalyticsReport();
  }
  if (on('api')) {
    console.log('\n== analytics API: report latency on generated rows (PostgreSQL 15) ==');
    await benchAnalyticsApi();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
