import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { appOutput } from '../../support/app-output';
import { freePort } from '../../support/postgres-server';
import { PROMETHEUS } from './external-tools';
import { filesIn, PROMETHEUS_CONFIG, PROMETHEUS_DIR, readYaml, RULES_DIR } from './ops-paths';

/** Result of a Prometheus HTTP API query. */
export interface PromResult {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: {
    metric: Record<string, string>;
    value?: [number, string];
    values?: [number, string][];
  }[];
}

/** A Prometheus process started for one test suite. */
export interface PrometheusServer {
  readonly url: string;
  /** GET an API path; throws with Prometheus' error text when the status is not success. */
  api<T>(path: string, params?: Record<string, string | string[]>): Promise<T>;
  query(expr: string, time: Date): Promise<PromResult>;
  queryRange(expr: string, start: Date, end: Date, stepSeconds: number): Promise<PromResult>;
  stop(): Promise<void>;
}

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  file_sd_configs?: { files: string[] }[];
  [key: string]: unknown;
}

/**
 * Starts /usr/bin/prometheus with the repository's rule files and its `magure-app` scrape job,
 * re-targeted at 127.0.0.1:<appPort> and scraped every second.
 */
export async function startPrometheus(appPort: number): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-test-'));
  const port = await freePort();
  const real = readYaml<{ scrape_configs: ScrapeConfig[] }>(PROMETHEUS_CONFIG);
  const appJob = real.scrape_configs.find((s) => s.job_name === 'magure-app');
  if (!appJob) throw new Error('prometheus.yml has no magure-app job');
  const targetFile = appJob.file_sd_configs?.[0]?.files[0];
  const labels = targetFile
    ? (readYaml<{ labels?: Record<string, string> }[]>(join(PROMETHEUS_DIR, targetFile))[0]
        ?.labels ?? {})
    : {};
  const { file_sd_configs: _fileSd, ...job } = appJob;
  const config = {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: filesIn(RULES_DIR, '.yml'),
    scrape_configs: [
      {
        ...job,
        scrape_interval: '1s',
        scrape_timeout: '1s',
        static_configs: [{ targets: [`127.0.0.1:${appPort}`], labels }],
      },
    ],
  };
  // JSON is YAML: no serializer needed.
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));

  const log: string[] = [];
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1d',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Kept in memory (and in the output shown under a failing test), not printed.
  const keep = (b: Buffer) => {
    log.push(b.toString());
    appOutput.add(b.toString());
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // Set by the child's events; an object so that the loops below re-read it after each await.
  const state = { exited: null as number | null };
  child.on('exit', (code) => {
    state.exited = code ?? -1;
  });
  child.on('error', (error) => {
    log.push(`cannot run ${PROMETHEUS}: ${error.message}\n`);
    state.exited = -1;
  });

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (state.exited === null) {
      child.kill('SIGTERM');
      for (let i = 0; i < 50 && state.exited === null; i++) await sleep(100);
      if (state.exited === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (state.exited !== null) {
      const output = log.join('');
      await stop();
      throw new Error(`prometheus exited with ${state.exited}:\n${output}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 30 s:\n${log.join('')}`);
    }
    await sleep(100);
  }

  async function api<T>(path: string, params: Record<string, string | string[]> = {}): Promise<T> {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(params))
      for (const item of Array.isArray(v) ? v : [v]) body.append(k, item);
    const res = await fetch(`${url}${path}?${body.toString()}`);
    const json = (await res.json()) as {
      status: string;
      data: T;
      error?: string;
      errorType?: string;
    };
    if (json.status !== 'success')
      throw new Error(`${json.errorType ?? res.status}: ${json.error ?? 'query failed'}`);
    return json.data;
  }

  return {
    url,
    api,
    query: (expr, time) =>
      api<PromResult>('/api/v1/query', { query: expr, time: String(time.getTime() / 1000) }),
    queryRange: (expr, start, end, step) =>
      api<PromResult>('/api/v1/query_range', {
        query: expr,
        start: String(start.getTime() / 1000),
        end: String(end.getTime() / 1000),
        step: String(step),
      }),
    stop,
  };
}
