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

    // Runs as traces: a workflow run of the simulated traffic opens as a tree of its steps.
    const run = await waitFor(
      'a workflow run in the runs list',
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/api/analytics/runs?kind=workflow&hours=1`);
        if (res.status !== 200) return undefined;
        const body = (await res.json()) as { runs: { id: string; name: string }[] };
        return body.runs[0];
      },
      60_000,
      500,
    );
    const tree = (await (await fetch(`http://127.0.0.1:${port}/api/analytics/runs/${run.id}`)).json()) as {
      roots: { kind: string; name: string; children: { kind: string }[] }[];
    };
    expect(tree.roots).toHaveLength(1);
    expect(tree.roots[0]).toMatchObject({ kind: 'workflow', name: run.name });
    expect(tree.roots[0]!.children.length).toBeGreaterThan(0);
    expect(tree.roots[0]!.children.every((c) => c.kind === 'agent')).toBe(true);

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child!.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const stopping = Date.now();
    child.kill('SIGTERM');
    // Nest runs its shutdown hooks, then re-raises the signal so the process ends as killed by it.
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(output).toContain('SIGTERM: shutting down (writing queued analytics rows and logs)');
    // Keep-alive connections of the simulated traffic are closed, not waited for (5 s).
    expect(Date.now() - stopping).toBeLessThan(4000);
    expect(output).not.toMatch(/Unhandled|uncaught|unavailable|ExceptionsHandler/i);
  }, 120_000);

  it.each([
    [{ ANALYTICS_BATCH_SIZE: '0' }, 'Invalid monitoring option "analyticsBatchSize" (environment variable ANALYTICS_BATCH_SIZE="0"): must be an integer from 1 to 50000'],
    [{ LOG_LEVEL: 'verbose' }, 'Invalid monitoring option "logLevel" (environment variable LOG_LEVEL="verbose"): must be one of trace, debug, info, warn, error, fatal, silent'],
    [{ PORT: 'abc' }, 'Invalid PORT="abc": must be a whole number from 0 to 65535'],
  ])('refuses %j with one line naming the variable, and exit code 1', async (bad, line) => {
    const env: NodeJS.ProcessEnv = { ...process.env, PGLITE_DATA_DIR: ':memory:', ...bad };
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, ['dist/main.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(result).toEqual({ code: 1, stdout: '', stderr: `${line}\n` });
  }, 30_000);

  it('does not print a metrics URL when Prometheus is off', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), PROMETHEUS_ENABLED: 'false', SIMULATE_TRAFFIC: 'false', PGLITE_DATA_DIR: ':memory:', ANALYTICS_ENABLED: 'false' };
    const p = spawn(process.execPath, ['dist/main.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('the start-up banner', async () => (out.includes('Demo monolith listening') ? true : undefined), 60_000, 100);
      expect(out).toContain('  Prometheus metrics:  off (PROMETHEUS_ENABLED=false)');
      expect(out).not.toContain(`http://localhost:${port}/metrics`);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    } finally {
      await stopProcess(p);
    }
  }, 90_000);
});
