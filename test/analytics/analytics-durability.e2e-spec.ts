import { cpSync, mkdtempSync, readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger, ServiceUnavailableException, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { Registry } from 'prom-client';
import request from 'supertest';
import { MonitoringReadiness, SHUTTING_DOWN_MESSAGE } from '../../src/monitoring';
import { AnalyticsMetrics } from '../../src/monitoring/analytics/analytics.metrics';
import { AnalyticsDatabase } from '../../src/monitoring/analytics/database/analytics-database';
import { PgBatchWriter } from '../../src/monitoring/analytics/ingest/analytics-batch-writer';
import { mapEventToRow } from '../../src/monitoring/analytics/ingest/analytics-row.mapper';
import { AnalyticsWriteQueue } from '../../src/monitoring/analytics/ingest/analytics-write-queue';
import type { AnalyticsBatchWriter } from '../../src/monitoring/analytics/ingest/analytics-batch-writer';
import { createAnalyticsApp as createApp, waitFor } from '../support/analytics-app';
import { describeWithPostgres } from '../support/analytics-databases';
import { startPostgres, type TestPostgres } from '../support/postgres-server';
import { TcpProxy } from '../support/tcp-proxy';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const countLlmRows = async (url: string) =>
  (await query<{ n: number; ids: number }>(url, 'SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM llm_usage'))[0]!;

async function scrape(app: INestApplication, series: string): Promise<number> {
  const text = (await request(app.getHttpServer()).get('/metrics')).text;
  const escaped = series.replace(/[{}"]/g, (c) => `\\${c}`);
  const match = new RegExp(`^${escaped} (\\d+)`, 'm').exec(text);
  if (!match) throw new Error(`no series ${series} on /metrics`);
  return Number(match[1]);
}

/** Application log lines (JSON lines and Nest logger messages), kept in memory, not printed. */
const appLines: string[] = [];

/** The test app, its log lines captured in `appLines`. */
const createAnalyticsApp = (...[options, adapter]: Parameters<typeof createApp>) =>
  createApp({ logDestination: { write: (line: string) => appLines.push(line) }, ...options }, adapter);

function captureNestLogger(): void {
  const keep = (message: unknown) => {
    appLines.push(String(message));
  };
  jest.spyOn(Logger.prototype, 'log').mockImplementation(keep);
  jest.spyOn(Logger.prototype, 'warn').mockImplementation(keep);
  jest.spyOn(Logger.prototype, 'error').mockImplementation(keep);
}

const segmentFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.jsonl'));

describeWithPostgres('analytics durability: shutdown, spool, timeouts, counters', () => {
  let pg: TestPostgres;
  let proxy: TcpProxy;
  let proxiedUrl: string;
  const apps: INestApplication[] = [];
  const track = (app: INestApplication) => {
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    pg = await startPostgres();
    const target = new URL(pg.url);
    proxy = new TcpProxy(target.hostname, Number(target.port));
    await proxy.start();
    const via = new URL(pg.url);
    via.port = String(proxy.port);
    proxiedUrl = via.toString();
  });

  beforeEach(async () => {
    appLines.length = 0;
    captureNestLogger();
    proxy.release();
    proxy.restore();
    // Each test counts from an empty table (the schema exists once the first app has migrated).
    await query(pg.url, 'TRUNCATE llm_usage').catch(() => undefined);
  });

  afterEach(async () => {
    proxy.release();
    proxy.restore();
    for (const app of apps.splice(0)) await app.close().catch(() => undefined);
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    await proxy?.stop();
    await pg?.stop();
  });

  it.each(['Express', 'Fastify'])('SIGTERM under keep-alive load (%s): answers Connection: close, turns not ready, closes within the budget, and every acknowledged call is a row', async (platform) => {
    const app = track(
      await createAnalyticsApp(
        { databaseUrl: pg.url, shutdownTimeoutMs: 3_000, analyticsFlushIntervalMs: 1_000 },
        platform === 'Fastify' ? new FastifyAdapter() : undefined,
      ),
    );
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    let readiness: MonitoringReadiness | undefined;
    try {
      readiness = app.get(MonitoringReadiness);
    } catch {
      // Absent: the assertions below fail on the figures instead.
    }
    let shutdownAt = 0;
    let acknowledged = 0;
    let keepAliveAfterShutdown = 0;
    const get = (path = '/work/chat') =>
      new Promise<{ status: number; connection?: string }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path, agent }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
          })
          .on('error', reject);
      });
    // Four clients that never stop sending on their own (until 6 s after SIGTERM).
    const clients = Array.from({ length: 4 }, async () => {
      while (shutdownAt === 0 || Date.now() - shutdownAt < 6_000) {
        try {
          // Nest runs onModuleDestroy hooks before the shutdown begins: count from the moment it has.
          const sentBeforeShutdown = readiness ? !readiness.isShuttingDown() : shutdownAt === 0;
          const res = await get();
          if (res.status === 200) acknowledged++;
          if (shutdownAt > 0 && !sentBeforeShutdown && res.connection !== 'close') keepAliveAfterShutdown++;
        } catch {
          if (shutdownAt > 0) return; // refused: the server has stopped listening
          await sleep(5);
        }
      }
    });
    await waitFor('traffic on the keep-alive connections', async () => (acknowledged >= 50 ? true : undefined));
    // A slow request is in flight when shutdown begins: it is answered, with Connection: close.
    const slow = get('/work/slow');
    await sleep(100);
    shutdownAt = Date.now();
    await app.close();
    const tookMs = Date.now() - shutdownAt;
    await Promise.all(clients);
    const slowAnswer = await slow;
    agent.destroy();
    acknowledged++;

    expect(tookMs).toBeLessThan(3_000);
    expect(slowAnswer).toEqual({ status: 200, connection: 'close' });
    expect(keepAliveAfterShutdown).toBe(0);
    expect(await countLlmRows(pg.url)).toEqual({ n: acknowledged, ids: acknowledged });
    // Not ready from the first moment of shutdown (for the app's readiness route).
    expect(app.get(MonitoringReadiness).isShuttingDown()).toBe(true);
    expect(() => app.get(MonitoringReadiness).check()).toThrow(new ServiceUnavailableException(SHUTTING_DOWN_MESSAGE));
  });

  it('a crash loses no acknowledged row: the journal left on disk is replayed at the next start, each row once, counted once', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'mon-spool-crash-'));
    const crashDir = mkdtempSync(join(tmpdir(), 'mon-spool-after-'));
    const first = track(
      await createAnalyticsApp({
        databaseUrl: pg.url,
        analyticsSpoolDir: spoolDir,
        analyticsFlushIntervalMs: 60_000,
        analyticsBatchSize: 50_000,
      }),
    );
    const queue = first.get(AnalyticsWriteQueue);
    const server = first.getHttpServer();
    // 30 calls journaled but not yet written: what the disk holds if the process dies now. No
    // wait: the journal is appended at the end of the turn that answered, before the client can
    // read the answer (a later turn).
    for (let i = 0; i < 30; i++) await request(server).get('/work/chat').expect(200);
    expect(segmentFiles(spoolDir).length).toBeGreaterThan(0);
    cpSync(spoolDir, crashDir, { recursive: true });
    // They are written (and released) after the snapshot; 10 more are journaled, never written.
    expect(await queue.flush()).toBe(true);
    expect(await countLlmRows(pg.url)).toEqual({ n: 30, ids: 30 });
    for (let i = 0; i < 10; i++) await request(server).get('/work/chat').expect(200);
    cpSync(spoolDir, crashDir, { recursive: true });
    // The first process "dies": it writes nothing more.
    queue.stop();

    const second = track(await createAnalyticsApp({ databaseUrl: pg.url, analyticsSpoolDir: crashDir, analyticsFlushIntervalMs: 50 }));
    await waitFor('the replay of the journal', async () => ((await countLlmRows(pg.url)).n === 40 ? true : undefined));
    await waitFor('the replayed segments to be deleted', async () => (segmentFiles(crashDir).length === 0 ? true : undefined));
    expect(await countLlmRows(pg.url)).toEqual({ n: 40, ids: 40 });
    // Only the 10 rows the first process never wrote are new to the table.
    expect(await scrape(second, 'magure_analytics_rows_written_total{table="llm_usage"}')).toBe(10);
  });

  it('beyond the queue capacity rows go to the spool, not the floor, and are written once the database is back', async () => {
    const app = track(
      await createAnalyticsApp({ databaseUrl: proxiedUrl, analyticsQueueCapacity: 20, analyticsFlushIntervalMs: 50 }),
    );
    const server = app.getHttpServer();
    await request(server).get('/work/chat').expect(200);
    await waitFor('the first row', async () => ((await countLlmRows(pg.url)).n === 1 ? true : undefined));
    proxy.cut();
    for (let i = 0; i < 100; i++) await request(server).get('/work/chat').expect(200);
    await sleep(50);
    expect(app.get(AnalyticsWriteQueue).depth).toBe(20);
    expect(await scrape(app, 'magure_analytics_rows_spooled_total{table="llm_usage"}')).toBe(80);
    expect(await scrape(app, 'magure_analytics_rows_dropped_total{table="llm_usage"}')).toBe(0);
    expect(await scrape(app, 'magure_analytics_spool_bytes')).toBeGreaterThan(0);
    proxy.restore();
    await waitFor('every row after the outage', async () => ((await countLlmRows(pg.url)).n === 101 ? true : undefined));
    expect(await countLlmRows(pg.url)).toEqual({ n: 101, ids: 101 });
    expect(await scrape(app, 'magure_analytics_rows_written_total{table="llm_usage"}')).toBe(101);
    await waitFor('the spool to empty', async () =>
      (await scrape(app, 'magure_analytics_spool_bytes')) === 0 ? true : undefined,
    );
  });

  it('when the shutdown budget runs out with the database unreachable, the rows stay in the spool and the next start writes them', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'mon-spool-budget-'));
    const app = await createAnalyticsApp({
      databaseUrl: proxiedUrl,
      analyticsSpoolDir: spoolDir,
      analyticsFlushIntervalMs: 50,
      shutdownTimeoutMs: 1_000,
    });
    await request(app.getHttpServer()).get('/work/chat').expect(200);
    await waitFor('the first row', async () => ((await countLlmRows(pg.url)).n === 1 ? true : undefined));
    proxy.cut();
    for (let i = 0; i < 25; i++) await request(app.getHttpServer()).get('/work/chat').expect(200);
    const started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(segmentFiles(spoolDir).length).toBeGreaterThan(0);

    proxy.restore();
    track(await createAnalyticsApp({ databaseUrl: pg.url, analyticsSpoolDir: spoolDir, analyticsFlushIntervalMs: 50 }));
    await waitFor('the spooled rows', async () => ((await countLlmRows(pg.url)).n === 26 ? true : undefined));
    expect(await countLlmRows(pg.url)).toEqual({ n: 26, ids: 26 });
  });

  it('counts rows whose INSERT committed although the client timed out (frozen server): rows_written_total equals the table', async () => {
    const database = new AnalyticsDatabase({
      databaseUrl: proxiedUrl,
      embeddedDatabaseDir: ':memory:',
      runMigrations: true,
      poolSize: 2,
    });
    await database.open();
    const registry = new Registry();
    const metrics = new AnalyticsMetrics(registry, 'magure_');
    const queue = new AnalyticsWriteQueue(
      new PgBatchWriter(database, { timeoutMs: 300 }),
      { capacity: 1000, batchSize: 1000, flushIntervalMs: 60_000, retryInitialMs: 10, retryMaxMs: 20 },
      metrics,
    );
    try {
      for (let i = 0; i < 50; i++) {
        queue.enqueue(
          'llm_usage',
          mapEventToRow({
            kind: 'llm_call',
            startedAt: new Date(),
            durationMs: 5,
            context: {},
            success: true,
            provider: 'openai',
            model: 'gpt-4o-mini',
            usage: null,
            costNanoCents: null,
            streamed: false,
          })!.row,
        );
      }
      proxy.hold();
      // The INSERT reaches the server and commits; its answer never arrives.
      expect(await queue.flush()).toBe(false);
      proxy.release();
      await sleep(30);
      expect(await queue.flush()).toBe(true);
      expect(await countLlmRows(pg.url)).toEqual({ n: 50, ids: 50 });
      expect(await registry.getSingleMetricAsString('magure_analytics_rows_written_total')).toContain(
        'magure_analytics_rows_written_total{table="llm_usage"} 50',
      );
    } finally {
      queue.stop();
      await database.close();
    }
  });

  it('a frozen database gets a prompt 503 from the analytics API, whose body and log say the same thing', async () => {
    const app = track(
      await createAnalyticsApp({
        databaseUrl: proxiedUrl,
        databasePoolSize: 1,
        analyticsQueryTimeoutMs: 500,
        databaseAcquireTimeoutMs: 300,
      }),
    );
    await request(app.getHttpServer()).get('/api/analytics/summary?hours=1').expect(200);
    proxy.hold();
    const started = Date.now();
    // The first request holds the only connection while the server does not answer; the
    // second waits for a connection.
    const [first, second] = await Promise.all([
      request(app.getHttpServer()).get('/api/analytics/summary?hours=1'),
      sleep(50).then(() => request(app.getHttpServer()).get('/api/analytics/costs?hours=1')),
    ]);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect([first.status, first.body]).toEqual([
      503,
      { statusCode: 503, error: 'Service Unavailable', message: 'analytics database did not answer within 1500 ms' },
    ]);
    expect([second.status, second.body]).toEqual([
      503,
      { statusCode: 503, error: 'Service Unavailable', message: 'no analytics database connection became free within 300 ms' },
    ]);
    expect(appLines).toContain('analytics database did not answer within 1500 ms');
    expect(appLines).toContain('no analytics database connection became free within 300 ms');
  });

  it('answers 503 "not connected" (and logs the same) while the database has never been reachable', async () => {
    proxy.cut();
    const app = track(await createAnalyticsApp({ databaseUrl: proxiedUrl }));
    const res = await request(app.getHttpServer()).get('/api/analytics/costs?hours=1');
    expect([res.status, res.body.message]).toEqual([503, 'analytics database is not connected']);
    expect(appLines).toContain('analytics database is not connected');
  });
});

describe('analytics drop log', () => {
  it('summarises drops per interval with the same total as the counter', async () => {
    const warnings: string[] = [];
    const spy = jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    const registry = new Registry();
    const unused: AnalyticsBatchWriter = { write: () => Promise.reject(new Error('not called')) };
    const queue = new AnalyticsWriteQueue(
      unused,
      { capacity: 10, batchSize: 100, flushIntervalMs: 60_000, dropSummaryIntervalMs: 200 },
      new AnalyticsMetrics(registry, 'magure_'),
    );
    try {
      const row = ['x'];
      for (let i = 0; i < 28_196; i++) queue.enqueue('llm_usage', row);
      await sleep(300);
      expect(warnings).toEqual([
        'analytics rows dropped: 1 (the queue is full (10 rows)); further drops are summarised every 0.2 s',
        'analytics rows dropped in the last 0.2 s: 28185 (28185 because the queue is full (10 rows))',
      ]);
      expect(await registry.getSingleMetricAsString('magure_analytics_rows_dropped_total')).toContain(
        'magure_analytics_rows_dropped_total{table="llm_usage"} 28186',
      );
    } finally {
      queue.stop();
      spy.mockRestore();
    }
  });
});
