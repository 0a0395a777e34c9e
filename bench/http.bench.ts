import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import type { HttpBenchAdapter, HttpBenchVariant } from './http-app';
import { median } from './measure';

/** The part of autocannon's result read here (autocannon ships no types). */
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p99: number };
  non2xx: number;
  errors: number;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (
  options: Record<string, unknown>,
) => Promise<AutocannonResult>;

/** One variant's medians over the rounds. */
export interface HttpBenchRow {
  adapter: HttpBenchAdapter;
  variant: HttpBenchVariant;
  reqPerSec: number;
  p99Ms: number;
  /** Throughput divided by the bare app's (median of the per-round ratios). */
  ratio: number;
  /** p99 latency divided by the bare app's (median of the per-round ratios). */
  p99Ratio: number;
  /** 1/throughput − 1/bare throughput: wall time the variant adds per request, µs. */
  addedUs: number;
  /** CPU time of the app's process per request (user + system), µs. */
  cpuUs: number;
  /** CPU time per request of the bare app divided by this variant's. */
  cpuRatio: number;
}

const VARIANTS: readonly HttpBenchVariant[] = [
  'bare',
  'bare+als',
  'bare+pino-http',
  'metrics',
  'metrics+logs',
  'all-sinks',
  'peer',
];

interface RunningApp {
  variant: HttpBenchVariant;
  child: ChildProcess;
  url: string;
}

/**
 * Whole-request throughput of a real Nest app per variant (bare, metrics only, metrics + logs, all
 * sinks with analytics in PostgreSQL, the OpenTelemetry + express-prom-bundle peer stack), on
 * Express and Fastify. Each app runs in its own process; autocannon (`-c 50`) loads one at a time,
 * the variants interleaved round by round so that noise from other work on the machine hits them
 * alike; figures are medians over the rounds. Settings: BENCH_HTTP_SECONDS (per measurement,
 * default 5), BENCH_HTTP_ROUNDS (default 5), BENCH_HTTP_ADAPTERS (default express,fastify),
 * BENCH_HTTP_VARIANTS, BENCH_HTTP_DATABASE_URL (all sinks; default a `bench_http` database on the
 * test server at 127.0.0.1:55432, created when missing), BENCH_HTTP_PROFILE=<variant> (write a
 * `.cpuprofile` of that variant's app to ./profiles), BENCH_HTTP_RATE=<req/s> (a fixed request rate
 * over 10 connections instead of saturating: the app's CPU time per request is then measured
 * without queueing, the least noisy figure on a busy machine).
 */
export async function benchHttp(): Promise<HttpBenchRow[]> {
  const seconds = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
  const rounds = Math.max(3, Number(process.env.BENCH_HTTP_ROUNDS ?? 5));
  const adapters = (process.env.BENCH_HTTP_ADAPTERS ?? 'express,fastify').split(
    ',',
  ) as HttpBenchAdapter[];
  const only = process.env.BENCH_HTTP_VARIANTS?.split(',');
  const variants = VARIANTS.filter((v) => !only || only.includes(v));
  if (variants[0] !== 'bare') throw new Error('the bare variant is needed for the ratios');
  if (variants.includes('all-sinks')) await ensureDatabase();

  const rows: HttpBenchRow[] = [];
  const rate = Number(process.env.BENCH_HTTP_RATE ?? 0);
  console.log(
    `autocannon ${rate > 0 ? `-c 10 --overallRate ${rate}` : '-c 50'}, ${seconds} s per measurement, ${rounds} interleaved rounds, medians`,
  );
  for (const adapter of adapters) {
    // The peer stack is Express's (express-prom-bundle, OpenTelemetry's Express instrumentation).
    const mine = variants.filter((v) => v !== 'peer' || adapter === 'express');
    const apps: RunningApp[] = [];
    try {
      for (const variant of mine) apps.push(await startApp(variant, adapter));
      for (const app of apps) await load(app.url, Math.min(2, seconds)); // warm-up (JIT, pools)
      const samples = new Map<HttpBenchVariant, { rps: number[]; p99: number[]; cpu: number[] }>(
        mine.map((v) => [v, { rps: [], p99: [], cpu: [] }]),
      );
      for (let round = 0; round < rounds; round++) {
        // Rotate the order too, so no variant always follows the same one.
        for (let i = 0; i < apps.length; i++) {
          const app = apps[(i + round) % apps.length]!;
          const cpuBefore = await processCpuMs(app.child.pid!);
          const result = await load(app.url, seconds);
          const cpuMs = (await processCpuMs(app.child.pid!)) - cpuBefore;
          if (result.non2xx > 0 || result.errors > 0)
            throw new Error(
              `${adapter} ${app.variant}: ${result.non2xx} non-2xx responses, ${result.errors} errors`,
            );
          samples.get(app.variant)!.rps.push(result.requests.average);
          samples.get(app.variant)!.p99.push(result.latency.p99);
          samples.get(app.variant)!.cpu.push((cpuMs * 1000) / result.requests.total);
        }
      }
      const bareSamples = samples.get('bare')!;
      const bare = median(bareSamples.rps);
      // Ratios are taken round by round (each variant against the bare app measured seconds
      // apart), then their median: slow phases of the machine then cancel out.
      const pairedRatio = (xs: number[], bares: number[], invert = false) =>
        median(xs.map((x, i) => (invert ? bares[i]! / x : x / bares[i]!)));
      console.log(`\n${adapter}`);
      console.log(
        '  variant          req/s    p99 ms   ratio  p99 ×bare  µs added/request   CPU µs/request  CPU ratio',
      );
      for (const variant of mine) {
        const s = samples.get(variant)!;
        const rps = median(s.rps);
        const p99 = median(s.p99);
        const row: HttpBenchRow = {
          adapter,
          variant,
          reqPerSec: rps,
          p99Ms: p99,
          ratio: pairedRatio(s.rps, bareSamples.rps),
          // autocannon reports latencies in whole milliseconds: 0 ms is read as 1 ms (its resolution).
          p99Ratio: pairedRatio(s.p99.map(atLeastOneMs), bareSamples.p99.map(atLeastOneMs)),
          addedUs: 1e6 / rps - 1e6 / bare,
          cpuUs: median(s.cpu),
          cpuRatio: pairedRatio(s.cpu, bareSamples.cpu, true),
        };
        rows.push(row);
        console.log(
          `  ${variant.padEnd(14)} ${rps.toFixed(0).padStart(7)} ${p99.toFixed(1).padStart(8)} ${row.ratio.toFixed(2).padStart(7)} ${row.p99Ratio.toFixed(2).padStart(10)} ${row.addedUs.toFixed(1).padStart(17)} ${row.cpuUs.toFixed(1).padStart(16)} ${row.cpuRatio.toFixed(2).padStart(10)}`,
        );
      }
    } finally {
      await Promise.all(apps.map((a) => stopApp(a)));
    }
  }
  return rows;
}

/** User + system CPU time of a process so far, ms (from /proc: Linux only). */
async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** USER_HZ of Linux (`getconf CLK_TCK`), 100 on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

async function load(url: string, seconds: number): Promise<AutocannonResult> {
  const rate = Number(process.env.BENCH_HTTP_RATE ?? 0);
  return rate > 0
    ? autocannon({ url: `${url}/chat`, connections: 10, overallRate: rate, duration: seconds })
    : autocannon({ url: `${url}/chat`, connections: 50, duration: seconds });
}

async function startApp(variant: HttpBenchVariant, adapter: HttpBenchAdapter): Promise<RunningApp> {
  const script = join(__dirname, 'http-app.js');
  const profile = process.env.BENCH_HTTP_PROFILE === variant;
  const args = profile
    ? ['--cpu-prof', '--cpu-prof-dir=profiles', script, variant, adapter]
    : [script, variant, adapter];
  const child = spawn(process.env.BENCH_HTTP_NODE || process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`${adapter} ${variant} app exited with ${String(code)} before listening`);
  });
  const listening = (async () => {
    for await (const line of lines) {
      const port = (JSON.parse(line) as { port?: number }).port;
      if (port !== undefined) return port;
    }
    throw new Error(`${adapter} ${variant} app closed its output before listening`);
  })();
  const port = await Promise.race([listening, exited]);
  exited.catch(() => undefined);
  return { variant, child, url: `http://127.0.0.1:${port}` };
}

async function stopApp(app: RunningApp): Promise<void> {
  if (app.child.exitCode !== null) return;
  const exited = once(app.child, 'exit');
  app.child.kill('SIGTERM');
  const timer = setTimeout(() => app.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Creates the all-sinks variant's database when missing (the app migrates it at start). */
async function ensureDatabase(): Promise<void> {
  if (process.env.BENCH_HTTP_DATABASE_URL) return;
  const client = new Client({ connectionString: 'postgres://postgres@127.0.0.1:55432/postgres' });
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = 'bench_http'");
    if (found.rowCount === 0) await client.query('CREATE DATABASE bench_http');
  } finally {
    await client.end();
  }
}

if (require.main === module) {
  benchHttp().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

function atLeastOneMs(ms: number): number {
  return Math.max(ms, 1);
}
