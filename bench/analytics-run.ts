import { benchAnalyticsIngest, benchAnalyticsQueueMemory, benchAnalyticsReport } from './analytics.bench';

/** Runs the analytics benchmarks alone (`node --expose-gc dist-bench/bench/analytics-run.js`). */
async function main(): Promise<void> {
  console.log('== analytics: write-behind ingest and rollup reports (PostgreSQL 15) ==');
  await benchAnalyticsQueueMemory();
  await benchAnalyticsIngest();
  await benchAnalyticsReport();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
