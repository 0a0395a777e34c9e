import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, run, stopProcess, waitFor } from '../support/processes';
import { parsePrometheusText, sumValues } from '../support/prometheus-text';

/**
 * What `npm start` does, end to end: build, boot the demo on an embedded database, let the
 * simulated traffic flow, then stop on SIGTERM.
 */
describe('the demo monolith as `npm start` runs it', () => {
  let child: ChildProcess | undefined;
  let dataDir: string;
  let output = '';

  beforeAll(async () => {
    const build = await run('npm', ['run', '--silent', 'build']);
    expect({ code: build.code, out: build.stdout + build.stderr }).toEqual({ code: 0, out: '' });
    dataDir = mkdtempSync(join(tmpdir(), 'demo-data-'));
  }, 120_000);

  afterAll(async () => {
    await stopProcess(child);
    rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('serves metrics fed by simulated traffic, and exits cleanly on SIGTERM', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      SIMULATE_TRAFFIC_INTERVAL_MS: '50',
      DEMO_LATENCY_SCALE: '0.01',
      PGLITE_DATA_DIR: dataDir,
    };
    delete env.DATABASE_URL;
    delete env.LOKI_URL;
    delete env.SIMULATE_TRAFFIC;
    delete env.ANALYTICS_ENABLED;
    child = spawn(process.execPath, ['dist/main.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));

    const executions = await waitFor('agent executions from simulated traffic', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      const n = sumValues(parsePrometheusText(await res.text()), 'magure_agent_executions_total');
      return n >= 5 ? n : undefined;
    }, 60_000, 250);
    expect(executions).toBeGreaterThanOrEqual(5);
    expect(output).toContain(`http://localhost:${port}/metrics`);

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child!.once('exit', (code, signal) => resolve({ code, signal })),
    );
    child.kill('SIGTERM');
    // Nest runs its shutdown hooks, then re-raises the signal so the process ends as killed by it.
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(output).not.toMatch(/Unhandled|uncaught|unavailable|ExceptionsHandler/i);
  }, 120_000);
});
