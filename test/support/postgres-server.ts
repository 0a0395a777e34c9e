import { freePort } from './processes';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/** Directory of the PostgreSQL 15 server binaries (Debian layout). */
export const POSTGRES_BIN = process.env.POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

/** A PostgreSQL database for one test file. */
export interface TestPostgres {
  /** Connection URL of a database nobody else uses. */
  url: string;
  /** Drops the database / stops and deletes the server. */
  stop(): Promise<void>;
  /** Stops the server (`pg_ctl stop -m fast`), for outage tests. Only on a server started here. */
  stopServer(): Promise<void>;
  /** Starts the stopped server again on the same port. Only on a server started here. */
  startServer(): Promise<void>;
  /** True when the server was started by this helper (so it can be stopped and started). */
  readonly ownServer: boolean;
}

/**
 * Why a real PostgreSQL cannot be provided here, or undefined when it can: `TEST_DATABASE_URL`
 * is set, or the server binaries are installed.
 */
export function postgresUnavailableReason(): string | undefined {
  if (process.env.TEST_DATABASE_URL) return undefined;
  if (!existsSync(join(POSTGRES_BIN, 'initdb')) || !existsSync(join(POSTGRES_BIN, 'pg_ctl'))) {
    return `PostgreSQL server binaries not found in ${POSTGRES_BIN} (apt-get install postgresql-15) and TEST_DATABASE_URL is not set`;
  }
  return undefined;
}

/**
 * A fresh database on a real PostgreSQL server. With `TEST_DATABASE_URL` a new database is
 * created on that server (and dropped by `stop()`), unless `ownServer` is requested; otherwise a
 * PostgreSQL 15 server is initialised in a temp directory and started on a free port (as user
 * `postgres` when running as root).
 */
export async function startPostgres(
  options: { ownServer?: boolean; durable?: boolean } = {},
): Promise<TestPostgres> {
  const shared = process.env.TEST_DATABASE_URL;
  if (shared && !options.ownServer) return createDatabaseOn(shared);
  return startOwnServer(options.durable ?? false);
}

async function createDatabaseOn(adminUrl: string): Promise<TestPostgres> {
  const name = `monitoring_t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const unsupported = () =>
    Promise.reject(
      new Error('stopServer/startServer need a server started by the tests (ownServer)'),
    );
  return {
    url: url.toString(),
    ownServer: false,
    stopServer: unsupported,
    startServer: unsupported,
    stop: () =>
      withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
}

/** `durable`: keep PostgreSQL's default fsync / synchronous_commit (benchmarks); tests turn them off. */
async function startOwnServer(durable: boolean): Promise<TestPostgres> {
  const reason = existsSync(join(POSTGRES_BIN, 'initdb'))
    ? undefined
    : `no ${join(POSTGRES_BIN, 'initdb')}`;
  if (reason) throw new Error(`cannot start PostgreSQL: ${reason}`);
  const dir = await mkdtemp(join(tmpdir(), 'mon-pgsrv-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // initdb refuses to run as root: the cluster belongs to `postgres`.
    const { uid, gid } = await postgresIds();
    await chown(dir, uid, gid);
  }
  await chmod(dir, 0o700);
  const data = join(dir, 'data');
  const port = await freePort();
  const pg = (tool: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, tool), ...args])
      : run(join(POSTGRES_BIN, tool), args);
  await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const fast = durable ? '' : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off';
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1${fast}`;
  const start = () =>
    pg('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      serverOptions,
      'start',
    ]);
  const stopServer = () => pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  await start();
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    ownServer: true,
    stopServer: async () => {
      await stopServer();
    },
    startServer: async () => {
      await start();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', 'postgres'])).trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid))
    throw new Error('user "postgres" not found');
  return { uid, gid };
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(
            new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${err.trim() || out.trim()}`),
          ),
    );
  });
}

/** True when the suite must fail rather than skip when a service is missing. */
export function mustRunServices(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

export { freePort };
