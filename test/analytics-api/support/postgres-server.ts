import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A PostgreSQL database for one test file, dropped (or its server stopped) by `stop()`. */
export interface TestPostgres {
  url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

async function runOrThrow(cmd: string, args: string[]): Promise<void> {
  const { code, output } = await run(cmd, args);
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${code}): ${output}`);
}

/** A fresh database on the server of `adminUrl` (so test files never see each other's rows). */
async function freshDatabase(adminUrl: string): Promise<TestPostgres> {
  const name = `analytics_api_${process.pid}_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    stop: async () => {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * A real PostgreSQL for the tests: a fresh database on `TEST_DATABASE_URL` / `DATABASE_URL` when
 * set, else a PostgreSQL 15 server started for this file (initdb + pg_ctl as the `postgres`
 * user, temp directory, free port). Returns null when neither is possible; callers fail when
 * `CI=true` (see `requirePostgres`).
 */
export async function startTestPostgres(): Promise<TestPostgres | null> {
  const configured = process.env['TEST_DATABASE_URL'] ?? process.env['DATABASE_URL'];
  if (configured) return freshDatabase(configured);
  if (!existsSync(join(PG_BIN, 'initdb')) || process.getuid?.() !== 0) return null;

  const dir = mkdtempSync(join(tmpdir(), 'analytics-api-pg-'));
  const { uid, gid } = await postgresIds();
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const port = await freePort();
  const asPostgres = (bin: string, args: string[]) => runOrThrow('runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args]);
  await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  await asPostgres('pg_ctl', [
    '-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60',
    '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`,
    'start',
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await run('runuser', ['-u', 'postgres', '--', join(PG_BIN, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { output } = await run('id', ['postgres']);
  const uid = /uid=(\d+)/.exec(output)?.[1];
  const gid = /gid=(\d+)/.exec(output)?.[1];
  if (!uid || !gid) throw new Error(`no postgres user: ${output}`);
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Starts PostgreSQL, or explains why it cannot: with `CI=true` a missing server is a failure;
 * elsewhere the caller skips with the returned reason printed.
 */
export async function requirePostgres(): Promise<TestPostgres | { skip: string }> {
  const pg = await startTestPostgres();
  if (pg) return pg;
  const reason =
    'no PostgreSQL: set TEST_DATABASE_URL, or run as root with PostgreSQL 15 installed in /usr/lib/postgresql/15/bin';
  if (process.env['CI'] === 'true') throw new Error(`CI=true and ${reason}`);
  return { skip: reason };
}
