import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeWithTools, PROMTOOL } from './support/external-tools';
import { metricNamesIn } from './support/grafana-dashboards';
import { selectorProblems } from './support/metric-catalogue';
import {
  filesIn,
  PROMETHEUS_CONFIG,
  PROMETHEUS_DIR,
  readYaml,
  RULE_TESTS_DIR,
  RULES_DIR,
} from './support/ops-paths';

const run = promisify(execFile);

interface ToolResult {
  code: number;
  output: string;
}

async function promtool(args: string[], cwd: string): Promise<ToolResult> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : -1,
      output: `${e.stdout ?? ''}${e.stderr ?? ''}`,
    };
  }
}

interface RuleGroup {
  name: string;
  rules: { alert?: string; record?: string; expr: string; labels?: Record<string, string> }[];
}

const alertRules = filesIn(RULES_DIR, '.yml').flatMap((f) =>
  readYaml<{ groups: RuleGroup[] }>(f).groups.flatMap((g) => g.rules),
);

describeWithTools(
  'Prometheus configuration and alerting rules (promtool)',
  { prometheus: PROMTOOL },
  () => {
    it('promtool check config accepts prometheus.yml and the rule files it loads', async () => {
      const result = await promtool(['check', 'config', 'prometheus.yml'], PROMETHEUS_DIR);
      expect(result.output).toContain('SUCCESS');
      expect(result.output).toMatch(/SUCCESS: 2 rule files found/);
      expect(result.code).toBe(0);
    });

    it('promtool check rules accepts every rule file', async () => {
      const files = filesIn(RULES_DIR, '.yml');
      expect(files.length).toBeGreaterThanOrEqual(2);
      const result = await promtool(['check', 'rules', ...files], PROMETHEUS_DIR);
      expect(result.code).toBe(0);
    });

    it('promtool test rules: every alert fires on its unhealthy series and stays quiet on the healthy one', async () => {
      const tests = filesIn(RULE_TESTS_DIR, '.yml');
      expect(tests.length).toBeGreaterThan(0);
      const result = await promtool(['test', 'rules', ...tests], RULE_TESTS_DIR);
      if (result.code !== 0) throw new Error(result.output);
      expect(result.output).toContain('SUCCESS');
    });

    it('has a unit test that expects each alert to fire and one that expects it quiet', () => {
      const tested = filesIn(RULE_TESTS_DIR, '.yml').flatMap((f) =>
        readYaml<{ tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] }>(
          f,
        ).tests.flatMap((t) => t.alert_rule_test ?? []),
      );
      for (const rule of alertRules.filter((r) => r.alert)) {
        const cases = tested.filter((t) => t.alertname === rule.alert);
        expect({ alert: rule.alert, fires: cases.some((c) => c.exp_alerts.length > 0) }).toEqual({
          alert: rule.alert,
          fires: true,
        });
        expect({ alert: rule.alert, quiet: cases.some((c) => c.exp_alerts.length === 0) }).toEqual({
          alert: rule.alert,
          quiet: true,
        });
      }
    });

    it('covers the alerts the design asks for, each with a severity', () => {
      const names = alertRules.filter((r) => r.alert).map((r) => r.alert);
      expect(names).toEqual(
        expect.arrayContaining([
          'MagureHttp5xxRateHigh',
          'MagureHttpLatencyP99High',
          'MagureAgentSuccessRateLow',
          'MagureLlmErrorRateHigh',
          'MagureLlmCostOverBudget',
          'MagureWorkflowsStuck',
          'MagureAnalyticsEventsDropped',
          'MagureAnalyticsFlushFailing',
          'MagureAnalyticsAggregationBehind',
          'MagureLogShippingFailing',
          'MagureLogLinesDropped',
          'MagureScrapeTargetDown',
        ]),
      );
      for (const rule of alertRules.filter((r) => r.alert))
        expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(alertRules.find((r) => r.alert === 'MagureAgentSuccessRateLow')?.expr).toContain(
        '< 0.95',
      );
    });

    it('reads only metric families and labels the app exports, in the rules and in their unit tests', () => {
      const problems: string[] = [];
      for (const rule of alertRules) {
        const name = rule.alert ?? rule.record;
        problems.push(...selectorProblems(rule.expr).map((p) => `${name}: ${p}`));
      }
      const recorded = new Set(alertRules.map((r) => r.record).filter(Boolean));
      for (const rule of alertRules)
        for (const m of metricNamesIn(rule.expr).filter((n) => n.includes(':')))
          if (!recorded.has(m))
            problems.push(`${rule.alert ?? rule.record}: no recording rule ${m}`);
      for (const file of filesIn(RULE_TESTS_DIR, '.yml')) {
        const doc = readYaml<{ tests: { input_series: { series: string }[] }[] }>(file);
        for (const t of doc.tests)
          for (const input of t.input_series)
            problems.push(...selectorProblems(input.series).map((p) => `${file}: ${p}`));
      }
      expect(problems).toEqual([]);
    });

    it('the selector check catches a guessed metric name, a wrong label and an impossible value', () => {
      expect(selectorProblems('rate(magure_log_lines_dropped_total[5m])')).toEqual([
        'unknown metric magure_log_lines_dropped_total',
      ]);
      expect(selectorProblems('magure_loki_lines_dropped_total{level="error"}')).toEqual([
        'magure_loki_lines_dropped_total has no label "level"',
      ]);
      expect(selectorProblems('magure_loki_lines_dropped_total{reason="queue_full"}')).toHaveLength(
        1,
      );
      expect(selectorProblems('magure_llm_requests_total{status=~"fail.*"}')).toEqual([]);
      expect(
        selectorProblems('magure_http_request_duration_seconds_bucket{job="x",le="0.5"}'),
      ).toEqual([]);
    });

    it('the rule unit tests catch a changed rule: raising the cost budget makes them fail', async () => {
      // Copy the rules and tests, raise the budget above the test's spend, and expect promtool to
      // report that MagureLlmCostOverBudget no longer fires.
      const dir = mkdtempSync(join(tmpdir(), 'rules-mutant-'));
      try {
        cpSync(PROMETHEUS_DIR, dir, { recursive: true });
        const recording = join(dir, 'rules/magure-recording.yml');
        const original = readFileSync(recording, 'utf8');
        expect(original).toContain('expr: vector(500)');
        writeFileSync(recording, original.replace('expr: vector(500)', 'expr: vector(1000)'));
        const result = await promtool(
          ['test', 'rules', ...filesIn(join(dir, 'tests'), '.yml')],
          join(dir, 'tests'),
        );
        expect(result.code).not.toBe(0);
        expect(result.output).toContain('MagureLlmCostOverBudget');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('keeps the cost budget in one recording rule that the alert compares against', () => {
      const budget = alertRules.find((r) => r.record === 'magure:llm_cost_budget_cents_per_hour');
      expect(budget?.expr).toMatch(/^vector\(\d+(\.\d+)?\)$/);
      expect(alertRules.find((r) => r.alert === 'MagureLlmCostOverBudget')?.expr).toContain(
        'magure:llm_cost_budget_cents_per_hour',
      );
    });

    it('scrapes the app /metrics and loads the rule folder', () => {
      const config = readYaml<{
        rule_files: string[];
        scrape_configs: {
          job_name: string;
          metrics_path?: string;
          file_sd_configs?: { files: string[] }[];
        }[];
      }>(PROMETHEUS_CONFIG);
      expect(config.rule_files).toEqual(['rules/*.yml']);
      const app = config.scrape_configs.find((s) => s.job_name === 'magure-app');
      expect(app?.metrics_path).toBe('/metrics');
      const targetFile = app?.file_sd_configs?.[0]?.files[0] as string;
      const targets = readYaml<{ targets: string[]; labels: Record<string, string> }[]>(
        join(PROMETHEUS_DIR, targetFile),
      );
      expect(targets[0]?.targets).toEqual(['app:3000']);
    });
  },
);
