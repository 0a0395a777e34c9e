import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);

/** A PostgreSQL database for one test suite. */
export interface PostgresServer {
  /** `postgres://` URL of a database that belongs to this server handle alone. */
  readonly connectionString: string;
  /** Where it came from: a server this process started, or TEST_DATABASE_URL. */
  readonly source: 'local-server' | 'TEST_DATABASE_URL';
  /** Stops the server (or drops the database created inside TEST_DATABASE_URL) and removes its files. */
  stop(): Promise<void>;
}

/** Options of {@link startPostgresServer}. */
export interface StartPostgresOptions {
  /** Folder with initdb / pg_ctl / postgres. Default: env PG_BIN, else /usr/lib/postgresql/15/bin. */
  binDir?: string;
  /** Name of the database to create. Default `test`. */
  database?: string;
}

/** Folder of the PostgreSQL server binaries used when TEST_DATABASE_URL is not set. */
export function postgresBinDir(binDir?: string): string {
  return binDir ?? process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
}

/**
 * Why {@link startPostgresServer} cannot work here, or undefined when it can. Suites use it to
 * skip outside CI only; under CI=true they must start (and fail) instead.
 */
export function postgresUnavailableReason(binDir?: string): string | undefined {
  if (process.env.TEST_DATABASE_URL) return undefined;
  const dir = postgresBinDir(binDir);
  for (const tool of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(dir, tool)))
      return `${join(dir, tool)} not found (install postgresql-15, or set TEST_DATABASE_URL)`;
  }
  if (userInfo().uid === 0 && !hasUser('postgres'))
    return 'running as root and there is no "postgres" user to run the server as';
  return undefined;
}

/** True when the suite must fail rather than skip when a service is missing. */
export function mustRunServices(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

/**
 * Starts a throw-away PostgreSQL: with TEST_DATABASE_URL, a fresh database inside that server;
 * otherwise a private server (initdb in a temp folder, a free port on 127.0.0.1, fsync off). The
 * server refuses to run as root, so as root it runs as the `postgres` user through runuser.
 */
export async function startPostgresServer(
  options: StartPostgresOptions = {},
): Promise<PostgresServer> {
  const database = options.database ?? 'test';
  const external = process.env.TEST_DATABASE_URL;
  if (external) return createDatabaseIn(external, database);

  const bin = postgresBinDir(options.binDir);
  const unavailable = postgresUnavailableReason(options.binDir);
  if (unavailable) throw new Error(`Cannot start PostgreSQL: ${unavailable}`);

  const asRoot = userInfo().uid === 0;
  const root = mkdtempSync(join(tmpdir(), 'pg-test-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'server.log');
  if (asRoot) chownSync(root, uidOf('postgres'), gidOf('postgres'));
  const as = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args);

  let started = false;
  try {
    await as(join(bin, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    const port = await freePort();
    const serverOptions = [
      `-p ${port}`,
      `-k ${root}`,
      "-c listen_addresses='127.0.0.1'",
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
    ].join(' ');
    await as(join(bin, 'pg_ctl'), [
      '-D',
      dataDir,
      '-l',
      logFile,
      '-o',
      serverOptions,
      '-w',
      '-t',
      '30',
      'start',
    ]);
    started = true;
    const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await withClient(admin, (c) => c.query(`CREATE DATABASE ${ident(database)}`));
    return {
      connectionString: `postgres://postgres@127.0.0.1:${port}/${database}`,
      source: 'local-server',
      async stop() {
        await as(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(
          () => undefined,
        );
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
    if (started)
      await as(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', 'stop']).catch(
        () => undefined,
      );
    rmSync(root, { recursive: true, force: true });
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot start PostgreSQL from ${bin}: ${message}${log ? `\nserver log:\n${log}` : ''}`,
    );
  }
}

async function createDatabaseIn(url: string, prefix: string): Promise<PostgresServer> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withClient(url, (c) => c.query(`CREATE DATABASE ${ident(name)}`));
  const target = new URL(url);
  target.pathname = `/${name}`;
  return {
    connectionString: target.toString(),
    source: 'TEST_DATABASE_URL',
    async stop() {
      await withClient(url, (c) => c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));
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

function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`Unsafe database name "${name}"`);
  return `"${name}"`;
}

function hasUser(name: string): boolean {
  return spawnSync('id', ['-u', name]).status === 0;
}

function uidOf(name: string): number {
  return Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
}

function gidOf(name: string): number {
  return Number(spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim());
}

/** A TCP port free on 127.0.0.1 at the time of the call. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
