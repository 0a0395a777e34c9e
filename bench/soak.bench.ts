import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { HttpBenchAdapter, HttpBenchVariant } from './http-app';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<{
  requests: { total: number };
  non2xx: number;
  errors: number;
}>;

/** Resident memory of a process, in MiB (from /proc). */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/**
 * Memory over a long run: one app of the HTTP benchmark (`BENCH_SOAK_VARIANT`, default
 * `metrics+logs`; each request is one HTTP request, one agent run and one LLM call, so 1,000
 * requests/s are 2,000 tracked calls/s) loaded at a fixed rate (`BENCH_SOAK_RATE`, default 1,000
 * requests/s) for `BENCH_SOAK_SECONDS` (default 600), resident memory sampled every 30 s. A flat
 * line after warm-up means nothing per request is kept.
 */
export async function benchSoak(): Promise<{ samples: { t: number; rssMiB: number }[]; requests: number }> {
  const variant = (process.env.BENCH_SOAK_VARIANT ?? 'metrics+logs') as HttpBenchVariant;
  const adapter = (process.env.BENCH_SOAK_ADAPTER ?? 'express') as HttpBenchAdapter;
  const rate = Number(process.env.BENCH_SOAK_RATE ?? 1000);
  const seconds = Number(process.env.BENCH_SOAK_SECONDS ?? 600);
  const child = spawn(process.execPath, [join(__dirname, 'http-app.js'), variant, adapter], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let port: number | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    port = (JSON.parse(line) as { port?: number }).port;
    if (port !== undefined) break;
  }
  if (port === undefined) throw new Error('the soak app did not start');
  const pid = child.pid!;
  const samples: { t: number; rssMiB: number }[] = [{ t: 0, rssMiB: rssMiB(pid) }];
  const started = Date.now();
  const timer = setInterval(() => samples.push({ t: Math.round((Date.now() - started) / 1000), rssMiB: rssMiB(pid) }), 30_000);
  const result = await autocannon({ url: `http://127.0.0.1:${port}/chat`, connections: 10, overallRate: rate, duration: seconds });
  clearInterval(timer);
  samples.push({ t: Math.round((Date.now() - started) / 1000), rssMiB: rssMiB(pid) });
  child.kill('SIGTERM');
  await once(child, 'exit');
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`soak: ${result.non2xx} non-2xx, ${result.errors} errors`);
  console.log(`soak: ${adapter} ${variant}, ${rate} requests/s for ${seconds} s, ${result.requests.total} requests`);
  console.log(`  RSS MiB by second: ${samples.map((s) => `${s.t}s ${s.rssMiB.toFixed(1)}`).join(', ')}`);
  return { samples, requests: result.requests.total };
}

if (require.main === module) {
  benchSoak().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
