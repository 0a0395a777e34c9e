import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { from as copyFrom } from 'pg-copy-streams';
import { Registry } from 'prom-client';
import { HourlyAggregator } from '../src/monitoring/analytics/aggregation/hourly-aggregator.service';
import { AnalyticsMetrics } from '../src/monitoring/analytics/analytics.metrics';
import { AnalyticsSink } from '../src/monitoring/analytics/analytics.sink';
import { AnalyticsDatabase } from '../src/monitoring/analytics/database/analytics-database';
import { PgBatchWriter, type AnalyticsBatchWriter, type BatchWriteResult } from '../src/monitoring/analytics/ingest/analytics-batch-writer';
import { encodeCopyBinary } from '../src/monitoring/analytics/ingest/analytics-copy.encoder';
import { mapEventToRow } from '../src/monitoring/analytics/ingest/analytics-row.mapper';
import { TABLE_COLUMNS, type AnalyticsRow, type AnalyticsTable } from '../src/monitoring/analytics/ingest/analytics-tables';
import { AnalyticsWriteQueue } from '../src/monitoring/analytics/ingest/analytics-write-queue';
import type { LlmCallEvent } from '../src/monitoring/events/monitoring-event';
import { startPostgres, type TestPostgres } from '../test/support/postgres-server';
import { GENERATE_LLM_USAGE_REPORT_SQL } from './analytics-data';
import { canReadPostgresCpu, samplePostgresCpu } from './postgres-cpu';

/**
 * Benchmarks of the analytics pipeline against a real PostgreSQL 15: `BENCH_DATABASE_URL` when
 * set, else a server started here with PostgreSQL's default durability (fsync on).
 */

const print = (label: string, value: string) => console.log(`${label.padEnd(62)} ${value}`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const HOUR = 3_600_000;

async function benchDatabase(): Promise<{ url: string; stop(): Promise<void> }> {
  const url = process.env.BENCH_DATABASE_URL;
  if (url) return { url, stop: async () => undefined };
  const pg: TestPostgres = await startPostgres({ ownServer: true, durable: true });
  return pg;
}

async function openDatabase(url: string): Promise<AnalyticsDatabase> {
  const db = new AnalyticsDatabase({ databaseUrl: url, embeddedDatabaseDir: ':memory:', runMigrations: true, poolSize: 5 });
  await db.open();
  return db;
}

function llmEvent(i: number): LlmCallEvent {
  return {
    kind: 'llm_call',
    startedAt: new Date(),
    durationMs: 300 + (i % 1000),
    context: { requestId: randomUUID(), agentId: `agent-${i % 6}`, workflowId: 'daily-report', userId: `user-${i % 40}`, tenantId: 'acme' },
    success: i % 50 !== 0,
    provider: 'openai',
    model: 'gpt-4o-mini',
    usage: { inputTokens: 1200, outputTokens: 300, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0 },
    costNanoCents: 36_000_000,
    streamed: false,
  };
}

/**
 * The staging alternative to COPY straight into the table: in one transaction, COPY (binary) into
 * a temporary table, then `INSERT ... SELECT ... ON CONFLICT DO NOTHING` into the real one, so
 * the conflict check runs in SQL instead of through the unique-violation fallback.
 */
class StagingCopyWriter implements AnalyticsBatchWriter {
  constructor(private readonly db: AnalyticsDatabase) {}
  async write(table: AnalyticsTable, rows: readonly AnalyticsRow[]): Promise<BatchWriteResult> {
    const names = TABLE_COLUMNS[table].map((c) => `"${c.name}"`).join(', ');
    const payload = encodeCopyBinary(table, rows);
    const client = await this.db.connect();
    try {
      await client.query('BEGIN');
      await client.query(`CREATE TEMP TABLE IF NOT EXISTS "staging_${table}" (LIKE "${table}") ON COMMIT DELETE ROWS`);
      await new Promise<void>((resolve, reject) => {
        const stream = client.query(copyFrom(`COPY "staging_${table}" (${names}) FROM STDIN (FORMAT binary)`));
        stream.once('finish', resolve);
        stream.on('error', reject);
        stream.end(payload);
      });
      const result = await client.query(
        `INSERT INTO "${table}" (${names}) SELECT ${names} FROM "staging_${table}" ON CONFLICT DO NOTHING`,
      );
      await client.query('COMMIT');
      const inserted = result.rowCount ?? 0;
      return { inserted, alreadyStored: rows.length - inserted };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

/** The ways of writing a batch compared by the ingest benchmark (the module uses COPY binary). */
const INGEST_METHODS: Record<string, (db: AnalyticsDatabase) => AnalyticsBatchWriter> = {
  'INSERT ... SELECT FROM unnest ... ON CONFLICT': (db) => new PgBatchWriter(db, { method: 'insert' }),
  'COPY binary into the table (module)': (db) => new PgBatchWriter(db, { method: 'copy', copyFormat: 'binary' }),
  'COPY text into the table': (db) => new PgBatchWriter(db, { method: 'copy', copyFormat: 'text' }),
  'COPY binary into temp table + INSERT ON CONFLICT': (db) => new StagingCopyWriter(db),
};

/** Rows per second and CPU microseconds per row of one ingest run. */
export interface IngestSample {
  rowsPerSecond: number;
  appUsPerRow: number;
  backendUsPerRow: number;
  serverUsPerRow: number;
}

async function clientBackendPids(db: AnalyticsDatabase): Promise<number[]> {
  const rows: { pid: number }[] = await db.dataSource!.query(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`,
  );
  return rows.map((r) => r.pid);
}

/** Runs `work` (which stores `rows` rows) and measures its time and the CPU of app and server. */
async function measureIngest(db: AnalyticsDatabase, rows: number, work: () => Promise<void>): Promise<IngestSample> {
  await db.dataSource!.query('TRUNCATE llm_usage');
  const pids = await clientBackendPids(db);
  const app0 = process.cpuUsage();
  const pg0 = samplePostgresCpu(pids);
  const t0 = performance.now();
  await work();
  const elapsed = performance.now() - t0;
  const pg1 = samplePostgresCpu(pids);
  const app = process.cpuUsage(app0);
  const [{ n }] = await db.dataSource!.query('SELECT count(*)::int AS n FROM llm_usage');
  if (n !== rows) throw new Error(`expected ${rows} rows, found ${n}`);
  return {
    rowsPerSecond: (rows / elapsed) * 1000,
    appUsPerRow: (app.user + app.system) / rows,
    backendUsPerRow: (pg1.backendsUs - pg0.backendsUs) / rows,
    serverUsPerRow: (pg1.serverUs - pg0.serverUs) / rows,
  };
}

/** The writer alone: pre-mapped rows written batch after batch, as fast as one connection takes them. */
function writerOnly(writer: AnalyticsBatchWriter, batches: AnalyticsRow[][]): () => Promise<void> {
  return async () => {
    for (const batch of batches) {
      const { inserted } = await writer.write('llm_usage', batch);
      if (inserted !== batch.length) throw new Error(`wrote ${inserted} of ${batch.length} rows`);
    }
  };
}

/** The whole write-behind path: events recorded by the sink, mapped, queued and flushed. */
function throughQueue(writer: AnalyticsBatchWriter, rows: number, batchSize: number): () => Promise<void> {
  return async () => {
    const metrics = new AnalyticsMetrics(new Registry(), 'bench_');
    const queue = new AnalyticsWriteQueue(writer, { capacity: rows, batchSize, flushIntervalMs: 1000 }, metrics);
    const sink = new AnalyticsSink(queue);
    queue.start();
    // Events arrive as from a busy app: in bursts, with the event loop free between them.
    for (let i = 0; i < rows; i++) {
      sink.record(llmEvent(i));
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    while (queue.depth > 0) await new Promise((r) => setTimeout(r, 2));
    queue.stop();
    const dropped = await metrics.rowsDropped.get();
    if (dropped.values.some((v) => v.value > 0)) throw new Error('rows were dropped');
  };
}

const medianSample = (samples: IngestSample[]): IngestSample => ({
  rowsPerSecond: median(samples.map((s) => s.rowsPerSecond)),
  appUsPerRow: median(samples.map((s) => s.appUsPerRow)),
  backendUsPerRow: median(samples.map((s) => s.backendUsPerRow)),
  serverUsPerRow: median(samples.map((s) => s.serverUsPerRow)),
});

/**
 * Ingest into PostgreSQL by method: `BENCH_INGEST_ROWS` (default 200,000) llm_usage rows per run,
 * median of `BENCH_INGEST_RUNS` (default 5) runs, methods interleaved. Two cases: the writer
 * alone (rows mapped beforehand, batch after batch) and the whole write-behind path (events
 * recorded by the sink; its app CPU includes building the events). CPU per row: the app's
 * (process.cpuUsage), the client backends' and the whole server's (/proc), in microseconds.
 */
export async function benchAnalyticsIngest(): Promise<Record<string, { writer: IngestSample; queue: IngestSample }>> {
  const rows = Number(process.env.BENCH_INGEST_ROWS ?? 200_000);
  const runs = Number(process.env.BENCH_INGEST_RUNS ?? 5);
  const batchSize = Number(process.env.BENCH_INGEST_BATCH ?? 2000);
  const server = await benchDatabase();
  const db = await openDatabase(server.url);
  try {
    const mapped = Array.from({ length: rows }, (_, i) => mapEventToRow(llmEvent(i))!.row);
    const batches: AnalyticsRow[][] = [];
    for (let i = 0; i < rows; i += batchSize) batches.push(mapped.slice(i, i + batchSize));
    if (!canReadPostgresCpu(await clientBackendPids(db)))
      console.log('(PostgreSQL processes not readable in /proc here: server CPU shows as 0)');
    const samples: Record<string, { writer: IngestSample[]; queue: IngestSample[] }> = {};
    const warmUp = batches.slice(0, 10);
    for (const [name, make] of Object.entries(INGEST_METHODS)) {
      samples[name] = { writer: [], queue: [] };
      await measureIngest(db, warmUp.flat().length, writerOnly(make(db), warmUp));
    }
    for (let r = 0; r < runs; r++) {
      for (const [name, make] of Object.entries(INGEST_METHODS)) {
        samples[name]!.writer.push(await measureIngest(db, rows, writerOnly(make(db), batches)));
        samples[name]!.queue.push(await measureIngest(db, rows, throughQueue(make(db), rows, batchSize)));
      }
    }
    const result: Record<string, { writer: IngestSample; queue: IngestSample }> = {};
    const line = (s: IngestSample) =>
      `${String(Math.round(s.rowsPerSecond)).padStart(7)} rows/s  app ${s.appUsPerRow.toFixed(2).padStart(5)}  ` +
      `backend ${s.backendUsPerRow.toFixed(2).padStart(5)}  server ${s.serverUsPerRow.toFixed(2).padStart(5)} µs/row`;
    console.log(`ingest ${rows} llm_usage rows in batches of ${batchSize}, median of ${runs} runs (CPU µs per row):`);
    for (const [name, s] of Object.entries(samples)) {
      const m = { writer: medianSample(s.writer), queue: medianSample(s.queue) };
      result[name] = m;
      print(`  ${name}, writer alone`, line(m.writer));
      print(`  ${name}, sink → queue → writer`, line(m.queue));
    }
    return result;
  } finally {
    await db.close();
    await server.stop();
  }
}

/** Memory held by a full queue: `count` llm_usage rows waiting (needs --expose-gc for precision). */
export async function benchAnalyticsQueueMemory(count = 100_000): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const metrics = new AnalyticsMetrics(new Registry(), 'bench_');
  const never: AnalyticsBatchWriter = { write: () => Promise.reject(new Error('offline')) };
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const queue = new AnalyticsWriteQueue(never, { capacity: count, batchSize: 2000, flushIntervalMs: 60_000 }, metrics);
  const sink = new AnalyticsSink(queue);
  for (let i = 0; i < count; i++) sink.record(llmEvent(i));
  gc?.();
  const bytes = process.memoryUsage().heapUsed - before;
  print(`queue memory, ${count} llm_usage rows waiting${gc ? '' : ' (no --expose-gc)'}`, `${(bytes / 1024 / 1024).toFixed(1)} MiB (${Math.round(bytes / count)} B/row)`);
  if (queue.depth !== count) throw new Error('queue did not hold every row');
  return bytes;
}

async function timeQuery(db: AnalyticsDatabase, sql: string, params: unknown[], runs = 7): Promise<number> {
  await db.dataSource!.query(sql, params); // warm-up (caches, plans)
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await db.dataSource!.query(sql, params);
    samples.push(performance.now() - t0);
  }
  return median(samples);
}

/**
 * A 30-day cost-by-model report on `BENCH_ROWS` (default 10,000,000) generated llm_usage rows,
 * from the hourly rollups vs from the raw rows; also generation and aggregation times, and the
 * time index on the raw table as B-tree vs BRIN.
 */
export async function benchAnalyticsReport(): Promise<{ rollupMs: number; byModelMs: number; rawMs: number }> {
  const total = Number(process.env.BENCH_ROWS ?? 10_000_000);
  const server = await benchDatabase();
  const db = await openDatabase(server.url);
  try {
    const ds = db.dataSource!;
    await ds.query('TRUNCATE llm_usage, llm_usage_hourly, llm_usage_hourly_by_model, analytics_aggregation_state');
    const now = new Date();
    const end = new Date(Math.floor(now.getTime() / HOUR) * HOUR - 1);
    const start = new Date(end.getTime() - 30 * 24 * HOUR);
    let t0 = performance.now();
    const chunk = 1_000_000;
    for (let first = 0; first < total; first += chunk) {
      const n = Math.min(chunk, total - first);
      const from = new Date(start.getTime() + ((end.getTime() - start.getTime()) * first) / total);
      const to = new Date(start.getTime() + ((end.getTime() - start.getTime()) * (first + n)) / total);
      await ds.query(GENERATE_LLM_USAGE_REPORT_SQL, [from, to, n, first + 1]);
    }
    await ds.query('VACUUM ANALYZE llm_usage');
    print(`generate ${total} llm_usage rows over 30 days (generate_series)`, `${((performance.now() - t0) / 1000).toFixed(1)} s`);

    t0 = performance.now();
    const aggregator = new HourlyAggregator(db, { intervalSeconds: 3600, lookbackHours: 3 }, new AnalyticsMetrics(new Registry(), 'bench_'));
    const result = await aggregator.run();
    if (result.status !== 'completed') throw result.error ?? new Error(`aggregation ${result.status}`);
    await ds.query('VACUUM ANALYZE llm_usage_hourly, llm_usage_hourly_by_model');
    const [{ n: rollupRows }] = await ds.query('SELECT count(*)::int AS n FROM llm_usage_hourly');
    print(`aggregate ${result.hoursAggregated} hours into ${rollupRows} rollup rows`, `${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const from = start;
    const to = new Date(end.getTime() + 1);
    const rollupMs = await timeQuery(
      db,
      `SELECT model, sum(cost_cents) AS cost_cents, sum(calls) AS calls, sum(prompt_tokens + completion_tokens) AS tokens
       FROM llm_usage_hourly WHERE hour >= $1 AND hour < $2 GROUP BY model ORDER BY cost_cents DESC`,
      [from, to],
    );
    const byModelMs = await timeQuery(
      db,
      `SELECT model, sum(cost_cents) AS cost_cents, sum(calls) AS calls, sum(prompt_tokens + completion_tokens) AS tokens
       FROM llm_usage_hourly_by_model WHERE hour >= $1 AND hour < $2 GROUP BY model ORDER BY cost_cents DESC`,
      [from, to],
    );
    const [{ n: byModelRows }] = await ds.query('SELECT count(*)::int AS n FROM llm_usage_hourly_by_model');
    const rawMs = await timeQuery(
      db,
      `SELECT model, sum(cost_cents) AS cost_cents, count(*) AS calls, sum(prompt_tokens + completion_tokens) AS tokens
       FROM llm_usage WHERE "timestamp" >= $1 AND "timestamp" < $2 GROUP BY model ORDER BY cost_cents DESC`,
      [from, to],
      3,
    );
    print(`30-day cost by model from llm_usage_hourly (${rollupRows} rows)`, `${rollupMs.toFixed(1)} ms`);
    print(`30-day cost by model from llm_usage_hourly_by_model (${byModelRows} rows)`, `${byModelMs.toFixed(1)} ms (target < 100 ms)`);
    print(`30-day cost by model from ${total} raw rows (median)`, `${rawMs.toFixed(1)} ms`);

    // Time index on the raw table: B-tree (used) vs BRIN, on the reads the raw table serves.
    const lastHour = [new Date(end.getTime() - HOUR), to];
    const recentSql = `SELECT count(*), sum(cost_cents) FROM llm_usage WHERE "timestamp" >= $1 AND "timestamp" < $2`;
    const latestSql = `SELECT id FROM llm_usage WHERE "timestamp" < $2 AND "timestamp" >= $1 ORDER BY "timestamp" DESC LIMIT 50`;
    const btreeSize = (await ds.query(`SELECT pg_relation_size('"IDX_llm_usage_timestamp"') AS b`))[0].b;
    const btreeRecent = await timeQuery(db, recentSql, lastHour);
    const btreeLatest = await timeQuery(db, latestSql, lastHour);
    await ds.query('CREATE INDEX "BENCH_llm_usage_timestamp_brin" ON llm_usage USING brin ("timestamp")');
    const brinSize = (await ds.query(`SELECT pg_relation_size('"BENCH_llm_usage_timestamp_brin"') AS b`))[0].b;
    await ds.query('DROP INDEX "IDX_llm_usage_timestamp"');
    await ds.query('ANALYZE llm_usage');
    const brinRecent = await timeQuery(db, recentSql, lastHour);
    const brinLatest = await timeQuery(db, latestSql, lastHour);
    await ds.query('CREATE INDEX "IDX_llm_usage_timestamp" ON llm_usage ("timestamp")');
    await ds.query('DROP INDEX "BENCH_llm_usage_timestamp_brin"');
    const mb = (b: string) => `${(Number(b) / 1024 / 1024).toFixed(1)} MiB`;
    print('timestamp index size: B-tree / BRIN', `${mb(btreeSize)} / ${mb(brinSize)}`);
    print('last hour count+sum: B-tree / BRIN', `${btreeRecent.toFixed(1)} ms / ${brinRecent.toFixed(1)} ms`);
    print('last hour latest 50 rows: B-tree / BRIN', `${btreeLatest.toFixed(1)} ms / ${brinLatest.toFixed(1)} ms`);
    return { rollupMs, byModelMs, rawMs };
  } finally {
    await db.close();
    await server.stop();
  }
}
