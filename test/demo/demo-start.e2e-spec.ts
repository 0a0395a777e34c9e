import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appOutput } from '../support/app-output';
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
    // Kept in memory (and in the app output shown under the test if it fails), not printed.
    const keep = (d: Buffer) => {
      output += d.toString();
      appOutput.add(d.toString());
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);

    const executions = await waitFor(
      'agent executions from simulated traffic',
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        const n = sumValues(parsePrometheusText(await res.text()), 'magure_agent_executions_total');
        return n >= 5 ? n : undefined;
      },
      60_000,
      250,
    );
    expect(executions).toBeGreaterThanOrEqual(5);
    expect(output).toContain(`http://localhost:${port}/metrics`);

    // The same traffic reaches the embedded PostgreSQL and the analytics API.
    const calls = await waitFor(
      'LLM calls in the analytics API',
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/api/analytics/summary?hours=1`);
        if (res.status !== 200) return undefined;
        const body = (await res.json()) as { llmCalls: number };
        return body.llmCalls >= 3 ? body.llmCalls : undefined;
      },
      60_000,
      500,
    );
    expect(calls).toBeGreaterThanOrEqual(3);
    const page = await fetch(`http://127.0.0.1:${port}/api/analytics/ui`);
    expect(page.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/api/analytics/docs/json`)).status).toBe(200);
    const logs = (await (
      await fetch(`http://127.0.0.1:${port}/api/analytics/recent-logs?limit=5`)
    ).json()) as { logs: unknown[] };
    expect(logs.logs).toHaveLength(5);

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child!.once('exit', (code, signal) => resolve({ code, signal })),
    );
    child.kill('SIGTERM');
    // Nest runs its shutdown hooks, then re-raises the signal so the process ends as killed by it.
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(output).not.toMatch(/Unhandled|uncaught|unavailable|ExceptionsHandler/i);
  }, 120_000);
});
