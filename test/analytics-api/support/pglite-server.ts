import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

// Runs in a plain Node process: PGlite loads its WebAssembly through dynamic import, which Jest's
// module sandbox does not allow.
const SERVER_SOURCE = `
const { PGlite } = require(process.env.PGLITE_MODULE);
const { PGLiteSocketServer } = require(process.env.PGLITE_SOCKET_MODULE);
(async () => {
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: Number(process.env.PGLITE_PORT), maxConnections: 1 });
  await server.start();
  process.stdout.write('ready\\n');
  const stop = async () => { await server.stop(); await db.close(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

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

/** An in-memory PGlite served over the PostgreSQL wire protocol on 127.0.0.1 (one connection). */
export interface PgliteServer {
  url: string;
  stop(): Promise<void>;
}

export async function startPgliteServer(): Promise<PgliteServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER_SOURCE], {
    env: {
      ...process.env,
      PGLITE_PORT: String(port),
      PGLITE_MODULE: require.resolve('@electric-sql/pglite'),
      PGLITE_SOCKET_MODULE: require.resolve('@electric-sql/pglite-socket'),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`PGlite server exited (${code}): ${stderr}`)));
  });
  child.removeAllListeners('exit');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin!.end();
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
