import { spawn } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const POSTGRES_BIN = process.env['POSTGRES_BIN'] ?? '/usr/lib/postgresql/15/bin';

/** A PostgreSQL server for the benchmark. */
export interface BenchPostgres {
  url: string;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out}`))));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * `BENCH_DATABASE_URL` when set (an empty database the benchmark may fill), else a PostgreSQL 15
 * server started in a temp directory (as user `postgres` when running as root), with settings a
 * production server would have for this data size: 1 GB shared buffers, 64 MB work_mem, two
 * parallel workers per query.
 */
export async function startBenchPostgres(): Promise<BenchPostgres> {
  const configured = process.env['BENCH_DATABASE_URL'];
  if (configured) return { url: configured, stop: async () => undefined };
  const dir = await mkdtemp(join(tmpdir(), 'analytics-bench-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).trim());
    await chown(dir, uid, gid);
  }
  await chmod(dir, 0o700);
  const data = join(dir, 'data');
  const port = await freePort();
  const pg = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, tool), ...args]) : run(join(POSTGRES_BIN, tool), args);
  await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c shared_buffers=1GB',
    '-c work_mem=64MB',
    '-c maintenance_work_mem=512MB',
    '-c max_wal_size=8GB',
    '-c max_parallel_workers_per_gather=2',
  ].join(' ');
  await pg('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '120', '-o', settings, 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Shape of the generated LLM calls (see `seedLlmUsageSql`). */
export interface WorkloadShape {
  rows: number;
  /** Range covered, ending now. */
  hours: number;
  /** Distinct users (each in one tenant); 30% of calls carry none. */
  users: number;
  tenants: number;
  agents: number;
}

/**
 * One INSERT … SELECT generating `count` LLM calls (rows `offset .. offset+count-1` of the whole
 * workload), spread evenly over the range with random jitter. Eight models; agents tied to
 * workflows; users tied to tenants. Deterministic per `setseed`.
 */
export function seedLlmUsageSql(shape: WorkloadShape, offset: number, count: number, end: Date): { sql: string; parameters: unknown[] } {
  const spanMs = shape.hours * 3_600_000;
  const sql = `
    INSERT INTO "llm_usage" ("timestamp", "provider", "model", "agent_id", "workflow_id", "tenant_id", "user_id",
      "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "cost_cents", "latency_ms", "success", "streamed")
    SELECT $1::timestamptz - make_interval(secs => ($2::double precision - ((s.g + s.jitter) * $3::double precision / $4::double precision)) / 1000.0),
      (ARRAY['openai','openai','openai','anthropic','anthropic','anthropic','mistral','google'])[s.m],
      (ARRAY['gpt-4o','gpt-4o-mini','o1-preview','claude-3-5-sonnet','claude-3-haiku','claude-3-opus','mistral-large','gemini-1.5-pro'])[s.m],
      CASE WHEN s.a < 0.1 THEN NULL ELSE 'agent-' || floor(s.a * $5)::int END,
      CASE WHEN s.a < 0.2 THEN NULL ELSE 'workflow-' || (floor(s.a * $5)::int % 6) END,
      CASE WHEN s.u < 0.3 THEN NULL ELSE 'tenant-' || (floor(s.u * $6)::int % $7) END,
      CASE WHEN s.u < 0.3 THEN NULL ELSE 'user-' || floor(s.u * $6)::int END,
      s.p, s.c, floor(s.p * random() * 0.3)::int, floor(s.c * random() * 0.2)::int,
      CASE WHEN random() < 0.03 THEN NULL ELSE round((s.p * 0.00025 + s.c * 0.001)::numeric * (0.5 + random()::numeric), 9) END,
      1 + floor(exp(random() * 10))::int,
      random() > 0.05,
      random() < 0.3
    FROM (
      SELECT g, random() AS jitter, 1 + floor(random() * 8)::int AS m, random() AS a, random() AS u,
             floor(random() * 4000)::int AS p, floor(random() * 1500)::int AS c
      FROM generate_series($8::bigint, $9::bigint) AS g
    ) s`;
  return { sql, parameters: [end.toISOString(), spanMs, spanMs, shape.rows, shape.agents, shape.users, shape.tenants, offset, offset + count - 1] };
}
