import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { startDemoApp } from '../support/demo-app';
import { freePort, requireBinary, run, stopProcess, waitFor } from '../support/processes';

const PROMTOOL = '/usr/bin/promtool';
const PROMETHEUS = '/usr/bin/prometheus';

describe('a real Prometheus scrapes /metrics (e2e)', () => {
  let app: INestApplication;
  let appPort: number;
  let prometheus: ChildProcess | undefined;
  let dir: string;

  beforeAll(async () => {
    ({ app } = await startDemoApp({ DEMO_LATENCY_SCALE: '0' }));
    await app.listen(0, '127.0.0.1');
    appPort = (app.getHttpServer().address() as { port: number }).port;
    const server = app.getHttpServer();
    for (let i = 0; i < 4; i++) await request(server).post('/agents/kpi-calculator/execute').expect(200);
    for (let i = 0; i < 3; i++) await request(server).post('/workflows/customer-support/run').expect(200);
    dir = mkdtempSync(join(tmpdir(), 'prom-'));
  });

  afterAll(async () => {
    await stopProcess(prometheus);
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves metrics that pass promtool check metrics', async () => {
    requireBinary(PROMTOOL, 'prometheus');
    const text = (await request(app.getHttpServer()).get('/metrics').expect(200)).text;
    const result = await run(PROMTOOL, ['check', 'metrics'], text);
    expect({ code: result.code, problems: result.stdout + result.stderr }).toEqual({ code: 0, problems: '' });
  });

  it('is scraped by Prometheus, and PromQL returns the driven counts', async () => {
    requireBinary(PROMETHEUS, 'prometheus');
    const promPort = await freePort();
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        '  - job_name: demo',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${appPort}']`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(PROMETHEUS, [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ], { stdio: 'ignore' });
    const query = async (promql: string) => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (body.status !== 'success') throw new Error(JSON.stringify(body));
      return body.data.result;
    };
    const kpi = await waitFor('kpi-calculator executions in Prometheus', async () => {
      const r = await query('sum(magure_agent_executions_total{agent_id="kpi-calculator",status="success"})');
      return r.length === 1 ? Number(r[0]!.value[1]) : undefined;
    }, 60_000, 500);
    expect(kpi).toBe(4);
    const runs = await query('sum by (workflow_id, status) (magure_workflow_executions_total)');
    expect(runs.map((r) => [r.metric.workflow_id, r.metric.status, Number(r.value[1])])).toEqual([['customer-support', 'completed', 3]]);
    const up = await query('up{job="demo"}');
    expect(Number(up[0]!.value[1])).toBe(1);
  });
});
