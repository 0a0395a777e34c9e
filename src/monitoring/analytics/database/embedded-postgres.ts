import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';

/** Value of `embeddedDatabaseDir` that keeps the embedded database in memory only (tests). */
export const IN_MEMORY_DATABASE = ':memory:';

const LOCK_FILE = '.monitoring-analytics.lock';
/** The socket file name `pg` expects in a socket directory: `.s.PGSQL.<port>`. */
const SOCKET_PORT = 5432;
const STOP_TIMEOUT_MS = 30_000;

/**
 * Runs PGlite and its socket server inside a worker thread. PGlite executes SQL synchronously in
 * WebAssembly: on the main thread every INSERT and every rollup query would stall the event loop
 * and with it the app's HTTP traffic. The code is plain CommonJS evaluated by Node itself, so it
 * works the same from compiled output and from test runners.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let db;
let server;
async function stop() {
  try { if (server) await server.stop(); } finally { if (db && !db.closed) await db.close(); }
}
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  stop().then(
    () => parentPort.postMessage({ type: 'stopped' }),
    (error) => parentPort.postMessage({ type: 'stopped', error: String(error && error.message || error) }),
  );
});
(async () => {
  const { PGlite } = require(workerData.pglite);
  const { PGLiteSocketServer } = require(workerData.pgliteSocket);
  db = workerData.dataDir ? await PGlite.create(workerData.dataDir) : await PGlite.create();
  // One connection: PGlite is a single session, and the extended-protocol messages of two
  // clients could interleave on it.
  server = new PGLiteSocketServer({ db, path: workerData.socketPath, maxConnections: 1 });
  await server.start();
  parentPort.postMessage({ type: 'ready' });
})().catch((error) => {
  parentPort.postMessage({ type: 'failed', error: String(error && error.stack || error) });
});
`;

type WorkerMessage =
  { type: 'ready' } | { type: 'failed'; error: string } | { type: 'stopped'; error?: string };

/**
 * An embedded PostgreSQL (PGlite, compiled to WebAssembly) served on a private Unix socket, so the
 * `pg` driver reaches it exactly as it reaches a real server: one code path for both.
 *
 * PGlite is a single session. The socket server accepts exactly one connection (with more, the
 * extended-protocol messages of two clients could interleave on that one session), so the pool in
 * front of it has one connection as well. It runs in a worker thread (see `WORKER_SOURCE`).
 *
 * The data directory is guarded by a lock file: two processes opening the same PGlite directory
 * would corrupt it.
 */
export class EmbeddedPostgres {
  private worker?: Worker;
  private socketDir?: string;
  private lockPath?: string;

  /** @param dataDir directory of the database files, or `':memory:'`. */
  constructor(private readonly dataDir: string) {}

  /** Connection settings for `pg` (host = socket directory). Valid after `start()`. */
  get connection(): { host: string; port: number; user: string; database: string } {
    if (!this.socketDir || !this.worker) throw new Error('embedded PostgreSQL is not started');
    return { host: this.socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' };
  }

  /** True when the database lives in memory only. */
  get inMemory(): boolean {
    return this.dataDir === IN_MEMORY_DATABASE;
  }

  /** Opens (or creates) the database and starts serving it. */
  async start(): Promise<void> {
    if (this.worker) return;
    let dir: string | undefined;
    if (!this.inMemory) {
      dir = resolve(this.dataDir);
      await mkdir(dir, { recursive: true });
      this.lockPath = await acquireLock(dir);
    }
    try {
      // mkdtemp creates the directory with mode 0700: only this user can reach the socket.
      this.socketDir = await mkdtemp(join(tmpdir(), 'mon-pg-'));
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          dataDir: dir,
          socketPath: join(this.socketDir, `.s.PGSQL.${SOCKET_PORT}`),
          pglite: require.resolve('@electric-sql/pglite'),
          pgliteSocket: require.resolve('@electric-sql/pglite-socket'),
        },
      });
      this.worker = worker;
      let onMessage!: (message: WorkerMessage) => void;
      let onError!: (error: Error) => void;
      let onExit!: (code: number) => void;
      await new Promise<void>((resolvePromise, reject) => {
        onMessage = (message) => {
          if (message.type === 'ready') resolvePromise();
          else if (message.type === 'failed')
            reject(new Error(`embedded PostgreSQL failed to start: ${message.error}`));
        };
        onError = reject;
        onExit = (code) =>
          reject(new Error(`embedded PostgreSQL exited during startup (code ${code})`));
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
      }).finally(() => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      });
      worker.on('error', () => undefined);
      // Does not keep the process alive by itself; the app closes it at shutdown.
      worker.unref();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Stops serving and closes the database (flushing it to disk). Safe to call twice. */
  async stop(): Promise<void> {
    const { worker, socketDir, lockPath } = this;
    this.worker = undefined;
    this.socketDir = undefined;
    this.lockPath = undefined;
    try {
      if (worker) await stopWorker(worker);
    } finally {
      if (socketDir) await rm(socketDir, { recursive: true, force: true });
      if (lockPath) await rm(lockPath, { force: true });
    }
  }
}

/** Asks the worker to close the database cleanly, then ends it (forcibly after a timeout). */
async function stopWorker(worker: Worker): Promise<void> {
  const exited = new Promise<void>((resolvePromise) => worker.once('exit', () => resolvePromise()));
  const stopped = new Promise<string | undefined>((resolvePromise) => {
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'stopped') resolvePromise(message.error);
    });
  });
  worker.ref();
  worker.postMessage('stop');
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    stopped.then((error) => ({ error })),
    exited.then(() => ({ error: undefined })),
    new Promise<{ error: string }>((resolvePromise) => {
      timer = setTimeout(
        () => resolvePromise({ error: 'timed out closing the embedded database' }),
        STOP_TIMEOUT_MS,
      );
    }),
  ]);
  clearTimeout(timer);
  await worker.terminate();
  await exited;
  if (outcome.error) throw new Error(`embedded PostgreSQL did not close cleanly: ${outcome.error}`);
}

/** Takes the data directory's lock file, refusing when a live process holds it. */
async function acquireLock(dir: string): Promise<string> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, String(process.pid), { flag: 'wx' });
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new Error(
          `the embedded analytics database in ${dir} is in use by process ${holder}; ` +
            'give each process its own embeddedDatabaseDir or use DATABASE_URL',
        );
      }
      if (holder === process.pid) {
        throw new Error(
          `the embedded analytics database in ${dir} is already open in this process`,
        );
      }
      // Stale lock of a process that died: take it over.
      await rm(path, { force: true });
    }
  }
  throw new Error(`could not lock the embedded analytics database in ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
