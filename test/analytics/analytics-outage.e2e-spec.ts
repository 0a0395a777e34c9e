import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { Client } from 'pg';
import { AnalyticsWriteQueue } from '../../src/monitoring/analytics/ingest/analytics-write-queue';
import { createAnalyticsApp, waitFor } from '../support/analytics-app';
import { startPostgres, type TestPostgres } from '../support/postgres-server';
import { describeWithPostgres } from '../support/analytics-databases';
import { TcpProxy } from '../support/tcp-proxy';

/** Sends GET /work/chat (one LLM call each) back to back until stopped; counts the answers. */
function trafficOn(app: INestApplication) {
  let running = true;
  const statuses: number[] = [];
  const done = (async () => {
    const server = app.getHttpServer();
    while (running) {
      const res = await request(server).get('/work/chat');
      statuses.push(res.status);
    }
  })();
  return {
    statuses,
    async stop() {
      running = false;
      await done;
    },
  };
}

async function countRows(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM llm_usage`)).rows[0]!
      .n;
  } finally {
    await client.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithPostgres('analytics during a database outage', () => {
  let pg: TestPostgres;

  beforeAll(async () => {
    pg = await startPostgres({ ownServer: true });
  });

  afterAll(async () => {
    await pg?.stop();
  });

  const scrape = async (app: INestApplication, name: string) => {
    const text = (await request(app.getHttpServer()).get('/metrics')).text;
    return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1]);
  };

  it('keeps serving while the server is stopped (pg_ctl stop -m fast) and writes every event after it restarts', async () => {
    const app = await createAnalyticsApp({ databaseUrl: pg.url, analyticsFlushIntervalMs: 50 });
    try {
      const traffic = trafficOn(app);
      await sleep(500);
      await pg.stopServer();
      const duringOutageStart = traffic.statuses.length;
      await waitFor('queued rows during the outage', async () =>
        app.get(AnalyticsWriteQueue).depth > 50 ? true : undefined,
      );
      await sleep(1_500);
      const servedDuringOutage = traffic.statuses.length - duringOutageStart;
      await pg.startServer();
      await sleep(500);
      await traffic.stop();

      expect(servedDuringOutage).toBeGreaterThan(50);
      expect(traffic.statuses.every((s) => s === 200)).toBe(true);
      await waitFor('the queue to drain after recovery', async () =>
        app.get(AnalyticsWriteQueue).depth === 0 ? true : undefined,
      );
      const chatRows = await countRows(pg.url);
      expect(chatRows).toBe(traffic.statuses.length);
      expect(await scrape(app, 'magure_analytics_flush_failures_total')).toBeGreaterThan(0);
      expect(await scrape(app, 'magure_analytics_rows_dropped_total\\{table="llm_usage"\\}')).toBe(
        0,
      );
      expect(await scrape(app, 'magure_analytics_rows_written_total\\{table="llm_usage"\\}')).toBe(
        chatRows,
      );
    } finally {
      await app.close();
    }
  });

  it('loses nothing when the network cuts every connection (TCP proxy) while events flow', async () => {
    const before = await countRows(pg.url);
    const target = new URL(pg.url);
    const proxy = new TcpProxy(target.hostname, Number(target.port));
    await proxy.start();
    const viaProxy = new URL(pg.url);
    viaProxy.port = String(proxy.port);
    const app = await createAnalyticsApp({
      databaseUrl: viaProxy.toString(),
      analyticsFlushIntervalMs: 50,
    });
    try {
      const traffic = trafficOn(app);
      await sleep(300);
      proxy.cut();
      await waitFor('queued rows while cut off', async () =>
        app.get(AnalyticsWriteQueue).depth > 50 ? true : undefined,
      );
      await sleep(1_000);
      proxy.restore();
      await sleep(300);
      await traffic.stop();
      expect(traffic.statuses.every((s) => s === 200)).toBe(true);
      await waitFor('the queue to drain after the network returns', async () =>
        app.get(AnalyticsWriteQueue).depth === 0 ? true : undefined,
      );
      expect((await countRows(pg.url)) - before).toBe(traffic.statuses.length);
      expect(await scrape(app, 'magure_analytics_flush_failures_total')).toBeGreaterThan(0);
    } finally {
      await app.close();
      await proxy.stop();
    }
  });

  it('starts while the database is down, queues events, and writes them once it is reachable', async () => {
    await pg.stopServer();
    let app: INestApplication | undefined;
    try {
      app = await createAnalyticsApp({ databaseUrl: pg.url, analyticsFlushIntervalMs: 50 });
      const server = app.getHttpServer();
      for (let i = 0; i < 20; i++) await request(server).get('/work/chat').expect(200);
      expect(app.get(AnalyticsWriteQueue).depth).toBe(20);
    } finally {
      await pg.startServer();
    }
    const before = await countRows(pg.url);
    await waitFor('the queue to drain once connected', async () =>
      app!.get(AnalyticsWriteQueue).depth === 0 ? true : undefined,
    );
    expect((await countRows(pg.url)) - before).toBe(20);
    await app.close();
  });
});
