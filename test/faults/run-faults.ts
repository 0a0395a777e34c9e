import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { AnalyticsMetrics } from '../../src/monitoring/analytics/analytics.metrics';
import { AnalyticsSpool } from '../../src/monitoring/analytics/ingest/analytics-spool';
import { AnalyticsWriteQueue } from '../../src/monitoring/analytics/ingest/analytics-write-queue';
import type { MonitoringEvent } from '../../src/monitoring/events/monitoring-event';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * The long fault runs (`npm run faults`), kept out of `npm test`: each starts the fault app
 * (`fault-app.ts`) as a real process against PostgreSQL (`TEST_DATABASE_URL`), injects one fault
 * and compares the rows in the database with the calls the app acknowledged (HTTP 200).
 * FAULTS_ONLY=outage,sigterm,sigkill,loki,cost picks runs; FAULTS_OUTAGE_S (default 60) and
 * FAULTS_KILLS (default 5) shorten them.
 */

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:55432/postgres';
const APP = join(__dirname, 'fault-app.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  run: string;
  figures: Record<string, string | number>;
}
const results: Row[] = [];

async function sql<T>(url: string, text: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

async function freshDatabase(tag: string): Promise<string> {
  const name = `faults_${tag}_${process.pid}_${Date.now() % 100000}`;
  await sql(ADMIN_URL, `CREATE DATABASE "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

const llmRows = async (url: string) =>
  (await sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM llm_usage').catch(() => [{ n: 0 }]))[0]!.n;

interface RunningApp {
  child: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

async function startApp(env: Record<string, string>): Promise<RunningApp> {
  const child = spawn(process.execPath, [APP], {
    env: { ...process.env, LOG_LEVEL: 'warn', NODE_ENV: 'development', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  let errors = '';
  child.stderr.on('data', (d: Buffer) => (errors = (errors + d.toString()).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve(Number(m[1]));
      } else if (out.length > 100_000) out = out.slice(-1000);
    };
    child.stdout.on('data', onData);
    void exited.then(() => reject(new Error(`fault app exited before it was ready: ${errors}`)));
  });
  return { child, port, exited };
}

/** Keep-alive clients sending `/work/chat?calls=n` until stopped; counts acknowledged calls. */
function load(port: number, options: { clients: number; callsPerRequest: number; ratePerSecond?: number }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.clients });
  let running = true;
  let acknowledged = 0;
  let failed = 0;
  const perClientGapMs = options.ratePerSecond
    ? (1000 * options.clients * options.callsPerRequest) / options.ratePerSecond
    : 0;
  const one = () =>
    new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: `/work/chat?calls=${options.callsPerRequest}`, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        })
        .on('error', reject);
    });
  const loops = Array.from({ length: options.clients }, async () => {
    while (running) {
      const started = Date.now();
      try {
        if ((await one()) === 200) acknowledged += options.callsPerRequest;
        else failed++;
      } catch {
        failed++;
        await sleep(20);
      }
      const wait = perClientGapMs - (Date.now() - started);
      if (wait > 0) await sleep(wait);
    }
  });
  return {
    get acknowledged() {
      return acknowledged;
    },
    get failed() {
      return failed;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

async function metric(port: number, series: string): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await sleep(250);
  }
  return false;
}

function spoolBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) if (f.endsWith('.jsonl')) n += statSync(join(dir, f)).size;
  return n;
}

async function stop(app: RunningApp): Promise<void> {
  if (app.child.exitCode !== null || app.child.signalCode !== null) return;
  app.child.kill('SIGTERM');
  const timer = setTimeout(() => app.child.kill('SIGKILL'), 15_000);
  await app.exited;
  clearTimeout(timer);
}

/** PostgreSQL unreachable for FAULTS_OUTAGE_S seconds at 1,000 calls/s, with a queue smaller than the outage. */
async function outageRun(): Promise<void> {
  const seconds = Number(process.env.FAULTS_OUTAGE_S ?? 60);
  const url = await freshDatabase('outage');
  const target = new URL(url);
  const proxy = new TcpProxy(target.hostname, Number(target.port));
  await proxy.start();
  const via = new URL(url);
  via.port = String(proxy.port);
  const spool = mkdtempSync(join(tmpdir(), 'faults-spool-'));
  const capacity = 20_000;
  const app = await startApp({
    DATABASE_URL: via.toString(),
    ANALYTICS_SPOOL_DIR: spool,
    ANALYTICS_QUEUE_CAPACITY: String(capacity),
  });
  const traffic = load(app.port, { clients: 10, callsPerRequest: 50, ratePerSecond: 1000 });
  await sleep(3_000);
  const rssBefore = await metric(app.port, 'process_resident_memory_bytes');
  proxy.cut();
  const cutAt = Date.now();
  const ackAtCut = traffic.acknowledged;
  await sleep(seconds * 1000);
  const duringOutage = traffic.acknowledged - ackAtCut;
  const depth = await metric(app.port, 'magure_analytics_queue_depth');
  const spooled = await metric(app.port, 'magure_analytics_rows_spooled_total{table="llm_usage"}');
  const bytesAtEnd = spoolBytes(spool);
  const rssOutage = await metric(app.port, 'process_resident_memory_bytes');
  proxy.restore();
  const outageMs = Date.now() - cutAt;
  await sleep(2_000);
  await traffic.stop();
  const restoredAt = Date.now();
  const caughtUp = await waitUntil(async () => (await llmRows(url)) >= traffic.acknowledged, 300_000);
  const catchUpMs = Date.now() - restoredAt;
  const rows = await llmRows(url);
  const written = await metric(app.port, 'magure_analytics_rows_written_total{table="llm_usage"}');
  const dropped = await metric(app.port, 'magure_analytics_rows_dropped_total{table="llm_usage"}');
  await stop(app);
  await proxy.stop();
  results.push({
    run: `outage ${Math.round(outageMs / 1000)} s at 1,000 calls/s, queue ${capacity}`,
    figures: {
      'calls during outage': duringOutage,
      'queue depth at end of outage': depth,
      'rows spooled': spooled,
      'spool bytes at end of outage': bytesAtEnd,
      'RSS MB before / during outage': `${(rssBefore / 1e6).toFixed(0)} / ${(rssOutage / 1e6).toFixed(0)}`,
      'acknowledged calls': traffic.acknowledged,
      'rows in table': rows,
      'rows_written_total': written,
      'rows_dropped_total': dropped,
      'caught up': caughtUp ? `yes, ${(catchUpMs / 1000).toFixed(1)} s after traffic stopped` : 'NO',
      lost: traffic.acknowledged - rows,
    },
  });
  rmSync(spool, { recursive: true, force: true });
}

/** SIGTERM while keep-alive clients keep sending, SIGKILL 10 s later (an orchestrator's grace period). */
async function sigtermRun(): Promise<void> {
  const url = await freshDatabase('sigterm');
  const spool = mkdtempSync(join(tmpdir(), 'faults-spool-'));
  const app = await startApp({ DATABASE_URL: url, ANALYTICS_SPOOL_DIR: spool });
  // About 1,200 rows/s as measured on main: 12 clients of 5 calls per request at 240 requests/s.
  const traffic = load(app.port, { clients: 12, callsPerRequest: 5, ratePerSecond: 1200 });
  const loadStart = Date.now();
  await sleep(5_000);
  const rate = Math.round((traffic.acknowledged * 1000) / (Date.now() - loadStart));
  const termAt = Date.now();
  app.child.kill('SIGTERM');
  const killer = setTimeout(() => app.child.kill('SIGKILL'), 10_000);
  const exit = await app.exited;
  clearTimeout(killer);
  await sleep(500);
  await traffic.stop();
  const rowsAfterStop = await llmRows(url);
  const leftInSpool = spoolBytes(spool);
  // The next start writes whatever the spool kept.
  const again = await startApp({ DATABASE_URL: url, ANALYTICS_SPOOL_DIR: spool });
  await waitUntil(async () => spoolBytes(spool) === 0, 30_000);
  await sleep(500);
  const rowsAfterRestart = await llmRows(url);
  await stop(again);
  results.push({
    run: 'SIGTERM under keep-alive load (1,200 calls/s), SIGKILL after 10 s',
    figures: {
      'calls/s before SIGTERM': rate,
      'exit after SIGTERM': `${exit.signal ?? `code ${exit.code}`} after ${((exit.at - termAt) / 1000).toFixed(2)} s`,
      'requests refused or reset after SIGTERM (clients retried)': traffic.failed,
      'acknowledged calls': traffic.acknowledged,
      'rows after exit': rowsAfterStop,
      'spool bytes left for next start': leftInSpool,
      'rows after next start': rowsAfterRestart,
      lost: traffic.acknowledged - rowsAfterRestart,
    },
  });
  rmSync(spool, { recursive: true, force: true });
}

/** SIGKILL at random moments under load; the next start replays the journal. */
async function sigkillRun(): Promise<void> {
  const kills = Number(process.env.FAULTS_KILLS ?? 5);
  const url = await freshDatabase('sigkill');
  const spool = mkdtempSync(join(tmpdir(), 'faults-spool-'));
  let acknowledged = 0;
  const rounds: string[] = [];
  for (let i = 0; i < kills; i++) {
    const app = await startApp({ DATABASE_URL: url, ANALYTICS_SPOOL_DIR: spool });
    const traffic = load(app.port, { clients: 12, callsPerRequest: 5, ratePerSecond: 1200 });
    const after = 1_000 + Math.round(Math.random() * 3_000);
    await sleep(after);
    app.child.kill('SIGKILL');
    await app.exited;
    await traffic.stop();
    acknowledged += traffic.acknowledged;
    rounds.push(`${(after / 1000).toFixed(1)} s`);
  }
  const rowsBeforeReplay = await llmRows(url);
  const last = await startApp({ DATABASE_URL: url, ANALYTICS_SPOOL_DIR: spool });
  await waitUntil(async () => spoolBytes(spool) === 0, 60_000);
  await sleep(500);
  const rows = await llmRows(url);
  await stop(last);
  results.push({
    run: `SIGKILL at random moments (${kills} kills, default fsync policy)`,
    figures: {
      'kill after': rounds.join(', '),
      'acknowledged calls': acknowledged,
      'rows before replay': rowsBeforeReplay,
      'rows after replay': rows,
      'lost (acknowledged minus rows; below 0: calls answered by the app whose answer the killed connection never delivered)':
        acknowledged - rows,
    },
  });
  rmSync(spool, { recursive: true, force: true });
}

/** Loki accepts connections and never answers: the app's memory must stay flat. */
async function lokiRun(): Promise<void> {
  const sockets = new Set<Socket>();
  const silent: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const lokiPort = (silent.address() as { port: number }).port;
  const app = await startApp({
    ANALYTICS_ENABLED: 'false',
    LOKI_URL: `http://127.0.0.1:${lokiPort}`,
    LOG_LEVEL: 'info',
  });
  const traffic = load(app.port, { clients: 8, callsPerRequest: 5 });
  const rss: number[] = [];
  const heap: number[] = [];
  const buffered: number[] = [];
  const seconds = Number(process.env.FAULTS_LOKI_S ?? 90);
  for (let i = 0; i < seconds / 10; i++) {
    await sleep(10_000);
    rss.push(await metric(app.port, 'process_resident_memory_bytes'));
    heap.push(await metric(app.port, 'nodejs_heap_size_used_bytes'));
    buffered.push(await metric(app.port, 'magure_loki_buffered_lines'));
  }
  const dropped = await metric(app.port, 'magure_loki_lines_dropped_total{reason="buffer_full"}');
  await traffic.stop();
  await stop(app);
  for (const s of sockets) s.destroy();
  silent.close();
  results.push({
    run: `Loki never answering (${seconds} s of logs at full speed)`,
    figures: {
      'calls served': traffic.acknowledged,
      'RSS MB every 10 s': rss.map((b) => (b / 1e6).toFixed(0)).join(', '),
      'heap used MB every 10 s': heap.map((b) => (b / 1e6).toFixed(0)).join(', '),
      'lines buffered for Loki every 10 s': buffered.join(', '),
      'lines dropped (buffer full; stdout had them)': dropped,
    },
  });
}

/**
 * What the journal costs each recorded event: the queue in this process, with the spool on and
 * off, including the flush that maps events to rows either way. Events are recorded one per run
 * of microtasks (as from separate requests), `perTurn` to a turn of the event loop (the journal appends once per turn): 1 is the worst case (a server
 * answering one request at a time, each row its own `write()`), 10 is closer to a loaded server
 * whose poll phase reads several requests. The writer only counts (the database is not what is
 * measured).
 */
async function costRun(): Promise<void> {
  Logger.overrideLogger(false);
  const event = (): MonitoringEvent => ({
    kind: 'llm_call',
    startedAt: new Date(),
    durationMs: 12,
    context: { requestId: 'req-1', agentId: 'agent', tenantId: 't1', userId: 'u1' },
    success: true,
    provider: 'openai',
    model: 'gpt-4o-mini',
    usage: { inputTokens: 100, outputTokens: 20, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0 },
    costNanoCents: 1_500_000,
    streamed: false,
  });
  const measure = async (withSpool: boolean, n: number, perTurn: number): Promise<number> => {
    const dir = mkdtempSync(join(tmpdir(), 'faults-cost-'));
    const spool = withSpool
      ? new AnalyticsSpool({ dir, maxBytes: 1e10, fsync: 'interval', fsyncIntervalMs: 1000 })
      : undefined;
    spool?.open();
    const queue = new AnalyticsWriteQueue(
      { write: (_table, rows) => Promise.resolve({ inserted: rows.length, alreadyStored: 0 }) },
      { capacity: 10_000_000, batchSize: 2000, flushIntervalMs: 60_000 },
      new AnalyticsMetrics(new Registry(), 'cost_'),
      spool,
    );
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      queue.enqueue('llm_usage', event());
      // Each event in its own run of microtasks, as from separate requests.
      await Promise.resolve();
      if ((i + 1) % perTurn === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    // Both variants map every event to a row (the flusher does it when the spool does not).
    await queue.flush();
    const micros = Number(process.hrtime.bigint() - started) / 1000 / n;
    queue.stop();
    spool?.close();
    rmSync(dir, { recursive: true, force: true });
    return micros;
  };
  const figures: Record<string, string | number> = {};
  for (const perTurn of [1, 10]) {
    for (const round of [1, 2, 3]) {
      const off = await measure(false, 50_000, perTurn);
      const on = await measure(true, 50_000, perTurn);
      figures[`µs per event, ${perTurn} per turn, round ${round} (spool off / on)`] =
        `${off.toFixed(1)} / ${on.toFixed(1)}`;
    }
  }
  results.push({ run: 'journal cost per recorded event (50,000 events, in process)', figures });
}

async function main(): Promise<void> {
  const only = process.env.FAULTS_ONLY?.split(',').map((s) => s.trim());
  const on = (name: string) => !only || only.includes(name);
  console.log(`node ${process.version}; PostgreSQL at ${new URL(ADMIN_URL).host}`);
  if (on('outage')) await outageRun();
  if (on('sigterm')) await sigtermRun();
  if (on('sigkill')) await sigkillRun();
  if (on('loki')) await lokiRun();
  if (on('cost')) await costRun();
  console.log('\n| Run | Figure | Value |\n|---|---|---|');
  for (const { run, figures } of results) {
    for (const [name, value] of Object.entries(figures)) console.log(`| ${run} | ${name} | ${value} |`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
