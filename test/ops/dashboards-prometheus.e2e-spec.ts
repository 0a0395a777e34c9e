import { setTimeout as sleep } from 'node:timers/promises';
import { LokiReceiver } from '../logging/loki-receiver';
import { describeWithTools, PROMETHEUS } from './support/external-tools';
import {
  ALL,
  defaultSelection,
  familyOf,
  interpolate,
  loadDashboards,
  metricNamesIn,
  queriesOf,
  variableQuery,
  type BuiltIns,
  type Dashboard,
  type PanelQuery,
  type VariableSelection,
} from './support/grafana-dashboards';
import {
  EXPORTED_METRIC_FAMILIES,
  HISTOGRAM_FAMILIES,
  selectorProblems,
  TARGET_LABELS,
} from './support/metric-catalogue';
import { driveTraffic, ROUND, startOpsDemoApp, type OpsDemoApp } from './support/ops-demo-app';
import { filesIn, readYaml, RULES_DIR } from './support/ops-paths';
import {
  startPrometheus,
  type PrometheusServer,
  type PromResult,
} from './support/prometheus-server';

const ROUNDS = 4;
const HOUR_S = 3600;
const dashboards = loadDashboards().map((d) => d.model);
const promDashboards = dashboards.filter((d) => queriesOf(d).some((q) => q.language === 'promql'));
const rules = filesIn(RULES_DIR, '.yml').flatMap((f) =>
  readYaml<{ groups: { rules: { alert?: string; record?: string; expr: string }[] }[] }>(
    f,
  ).groups.flatMap((g) => g.rules),
);

/** First value of a numeric instant query, NaN when empty. */
async function scalar(prom: PrometheusServer, expr: string): Promise<number> {
  const r = await prom.query(expr, new Date());
  return Number(r.result[0]?.value?.[1] ?? NaN);
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function finiteValues(r: PromResult): number {
  let n = 0;
  for (const s of r.result) {
    for (const [, v] of s.values ?? (s.value ? [s.value] : [])) if (Number.isFinite(Number(v))) n++;
  }
  return n;
}

/** The series of a family Prometheus holds: the family itself, or its `_count` for a histogram. */
function seriesOf(family: string): string {
  return HISTOGRAM_FAMILIES.has(family) ? `${family}_count` : family;
}

describeWithTools(
  'Dashboard PromQL against a real Prometheus scraping the app',
  { prometheus: PROMETHEUS },
  () => {
    const loki = new LokiReceiver();
    let demo: OpsDemoApp;
    let prom: PrometheusServer;
    let start: Date;
    let end: Date;
    let builtIns: BuiltIns;
    /** Metric families (and their types) the running app exports, from Prometheus' metadata API. */
    let metadata: Record<string, { type: string }[]>;

    beforeAll(async () => {
      await loki.start();
      // Analytics on the embedded PGlite database, logs shipped to the Loki receiver.
      demo = await startOpsDemoApp({ lokiUrl: loki.url });
      prom = await startPrometheus(demo.port);
      await waitFor(
        'the app target to be up',
        async () => (await scalar(prom, 'up{job="magure-app"}')) === 1,
      );
      start = new Date(Date.now() - 2000);
      // Several rounds, each seen by at least one scrape, so that rates and increases are non-zero.
      for (let round = 1; round <= ROUNDS; round++) {
        await driveTraffic(demo.app);
        await waitFor(
          `round ${round} to be scraped`,
          async () =>
            (await scalar(prom, 'sum(magure_agent_executions_total)')) ===
            round * ROUND.agentExecutions,
        );
      }
      // Every row written to PostgreSQL and every line pushed to Loki, as Prometheus sees it.
      await waitFor(
        'the analytics rows to be written and scraped',
        async () =>
          (await scalar(prom, 'sum(magure_analytics_rows_written_total)')) ===
          ROUNDS * (ROUND.llmCalls + ROUND.agentExecutions + ROUND.workflowRuns + ROUND.toolCalls),
      );
      await waitFor(
        'every log line to reach Loki and the count to be scraped',
        async () =>
          loki.lineCount === demo.logs.raw.length &&
          (await scalar(prom, 'magure_loki_lines_sent_total')) === demo.logs.raw.length,
      );
      await waitFor(
        'the recording rules to be evaluated',
        async () => !Number.isNaN(await scalar(prom, 'magure:llm_cost_cents:increase1h')),
      );
      await sleep(1500);
      end = new Date();
      const rangeSeconds = Math.ceil((end.getTime() - start.getTime()) / 1000);
      builtIns = {
        __interval: '5s',
        __rate_interval: '10s',
        __range: `${rangeSeconds}s`,
        __range_s: String(rangeSeconds),
        __auto: '5s',
      };
      metadata = await prom.api<Record<string, { type: string }[]>>('/api/v1/metadata');
    }, 60_000);

    afterAll(async () => {
      await prom?.stop();
      await demo?.app.close();
      await loki.stop();
    });

    it('Prometheus scraped exactly the traffic the app served', async () => {
      expect(await scalar(prom, 'sum(magure_agent_executions_total)')).toBe(
        ROUNDS * ROUND.agentExecutions,
      );
      expect(await scalar(prom, 'sum(magure_workflow_executions_total)')).toBe(
        ROUNDS * ROUND.workflowRuns,
      );
      expect(await scalar(prom, 'sum(magure_http_requests_total)')).toBe(
        ROUNDS * ROUND.httpRequests,
      );
      expect(await scalar(prom, 'sum(magure_http_requests_total{status_code="500"})')).toBe(
        ROUNDS * 4,
      );
      expect(await scalar(prom, 'sum(magure_workflow_executions_total{status="timeout"})')).toBe(
        ROUNDS,
      );
      expect(
        await scalar(prom, 'sum(magure_monitoring_errors_total{source="principalExtractor"})'),
      ).toBe(ROUNDS * ROUND.monitoringErrors);
    });

    it('the analytics metrics count the rows written to PostgreSQL, table by table, and the aggregator', async () => {
      const written = await prom.query('magure_analytics_rows_written_total', new Date());
      expect(
        Object.fromEntries(written.result.map((s) => [s.metric.table, Number(s.value?.[1])])),
      ).toEqual({
        llm_usage: ROUNDS * ROUND.llmCalls,
        agent_executions: ROUNDS * ROUND.agentExecutions,
        workflow_analytics: ROUNDS * ROUND.workflowRuns,
        tool_calls: ROUNDS * ROUND.toolCalls,
      });
      expect(await scalar(prom, 'sum(magure_analytics_rows_dropped_total)')).toBe(0);
      expect(await scalar(prom, 'count(magure_analytics_rows_dropped_total)')).toBe(4);
      expect(await scalar(prom, 'magure_analytics_queue_depth')).toBe(0);
      expect(await scalar(prom, 'magure_analytics_flush_failures_total')).toBe(0);
      expect(await scalar(prom, 'magure_analytics_flush_duration_seconds_count')).toBeGreaterThan(
        0,
      );
      // The embedded database is served through one connection.
      expect(await scalar(prom, 'magure_db_pool_connections{state="total"}')).toBe(1);
      // The aggregator ran at start: the last closed hour is the hour before the current one.
      expect(
        await scalar(prom, 'magure_analytics_aggregation_runs_total{result="completed"}'),
      ).toBeGreaterThanOrEqual(1);
      const lastClosed = await scalar(
        prom,
        'magure_analytics_aggregation_last_closed_hour_timestamp_seconds',
      );
      const currentHour = Math.floor(Date.now() / 1000 / HOUR_S) * HOUR_S;
      // A scrape just before the hour turned may still show the previous value.
      expect([currentHour - HOUR_S, currentHour - 2 * HOUR_S]).toContain(lastClosed);
    });

    it('the Loki shipping metrics count the lines the receiver stored', async () => {
      expect(loki.lineCount).toBe(demo.logs.raw.length);
      expect(await scalar(prom, 'magure_loki_lines_sent_total')).toBe(loki.lineCount);
      expect(await scalar(prom, 'sum(magure_loki_lines_dropped_total)')).toBe(0);
      expect(await scalar(prom, 'count(magure_loki_lines_dropped_total)')).toBe(4);
      expect(await scalar(prom, 'magure_loki_push_retries_total')).toBe(0);
      expect(await scalar(prom, 'magure_loki_buffered_lines')).toBe(0);
    });

    it('the catalogue lists exactly the metric families the app exports, with their types and labels', async () => {
      const exported = Object.keys(metadata).filter((f) => f.startsWith('magure_'));
      const catalogued = Object.keys(EXPORTED_METRIC_FAMILIES);
      expect(exported.filter((f) => !catalogued.includes(f))).toEqual([]);
      const problems: string[] = [];
      for (const [name, family] of Object.entries(EXPORTED_METRIC_FAMILIES)) {
        const type = metadata[name]?.[0]?.type;
        if (type !== family.type)
          problems.push(`${name}: exported as ${type}, catalogued as ${family.type}`);
        const series = await prom.api<Record<string, string>[]>('/api/v1/series', {
          'match[]': seriesOf(name),
          start: String(start.getTime() / 1000),
          end: String(end.getTime() / 1000),
        });
        // Families without a series yet (no label value folded) are checked by type only.
        if (series.length === 0) continue;
        const labels = new Set(
          series
            .flatMap((s) => Object.keys(s))
            .filter((l) => l !== '__name__' && !TARGET_LABELS.has(l)),
        );
        const want = [...family.labels].sort();
        if (JSON.stringify([...labels].sort()) !== JSON.stringify(want))
          problems.push(
            `${name}: labels ${[...labels].sort().join(',')}, catalogued ${want.join(',')}`,
          );
      }
      expect(problems).toEqual([]);
    });

    it('every alert and recording rule reads metric families with series in the scrape, and evaluates', async () => {
      const problems: string[] = [];
      for (const rule of rules) {
        problems.push(
          ...selectorProblems(rule.expr).map((p) => `${rule.alert ?? rule.record}: ${p}`),
        );
        for (const name of metricNamesIn(rule.expr).filter((n) => !n.includes(':'))) {
          const family = familyOf(name, HISTOGRAM_FAMILIES);
          if (family === 'up') continue;
          if (Number.isNaN(await scalar(prom, `count(${seriesOf(family)})`)))
            problems.push(`${rule.alert ?? rule.record}: no series of ${family}`);
        }
        await prom.query(rule.expr, end);
      }
      expect(problems).toEqual([]);
    });

    it('the aggregation alert is quiet while the aggregator keeps the rollups current', async () => {
      const rule = rules.find((r) => r.alert === 'MagureAnalyticsAggregationBehind');
      expect(rule).toBeDefined();
      expect((await prom.query(rule!.expr, new Date())).result).toEqual([]);
    });

    it('the LLM cost recording rules and budget evaluate on the scraped data', async () => {
      expect(await scalar(prom, 'magure:llm_cost_budget_cents_per_hour')).toBe(500);
      expect(await scalar(prom, 'magure:llm_cost_cents:increase1h')).toBeGreaterThan(0);
    });

    /** Runs one panel query the way Grafana sends it: range query, or instant when the target says so. */
    async function run(q: PanelQuery, selection: VariableSelection): Promise<PromResult> {
      const expr = interpolate(q.text, q.dashboard, 'promql', selection, builtIns);
      try {
        return q.target.instant
          ? await prom.query(expr, end)
          : await prom.queryRange(expr, start, end, 1);
      } catch (error) {
        throw new Error(`${q.label}: ${(error as Error).message}\n  ${expr}`);
      }
    }

    describe.each(promDashboards.map((d) => [d.uid, d] as const))('%s', (_uid, d: Dashboard) => {
      it('every PromQL panel query runs and returns data with the default variables', async () => {
        const failures: string[] = [];
        let checked = 0;
        for (const q of queriesOf(d).filter((x) => x.language === 'promql')) {
          const result = await run(q, defaultSelection(d));
          checked++;
          if (finiteValues(result) === 0) failures.push(`${q.label}: no data\n  ${q.text}`);
          // A fallback (`or on() vector(0)`) may only turn "no event yet" into 0: every family
          // the query reads must itself have series, so the value is never a fallback hiding a
          // wrong name or a family the app does not export.
          for (const name of metricNamesIn(q.text).filter((n) => !n.includes(':'))) {
            const family = familyOf(name, HISTOGRAM_FAMILIES);
            if (Number.isNaN(await scalar(prom, `count(${seriesOf(family)})`)))
              failures.push(`${q.label}: no series of ${family}`);
          }
        }
        expect(checked).toBeGreaterThan(0);
        if (failures.length > 0) throw new Error(`Panels without data:\n${failures.join('\n')}`);
      });

      it('its query variables list values, and every query runs with a concrete value selected', async () => {
        const selection = defaultSelection(d);
        for (const v of d.templating.list.filter(
          (x) => x.type === 'query' && x.datasource?.type === 'prometheus',
        )) {
          const text = interpolate(variableQuery(v) ?? '', d, 'promql', selection, builtIns);
          const m = /^label_values\((.+),\s*(\w+)\)$/.exec(text);
          if (!m) throw new Error(`${d.uid} $${v.name}: unsupported variable query ${text}`);
          const values = await prom.api<string[]>(`/api/v1/label/${m[2]}/values`, {
            'match[]': m[1] as string,
            start: String(start.getTime() / 1000),
            end: String(end.getTime() / 1000),
          });
          expect({ variable: v.name, values: values.length > 0 }).toEqual({
            variable: v.name,
            values: true,
          });
          // Narrow the next variables down the chain, as Grafana does.
          if (v.includeAll) selection[v.name] = values[0] as string;
        }
        if (Object.values(selection).some((x) => x === ALL)) throw new Error('a variable kept All');
        for (const q of queriesOf(d).filter((x) => x.language === 'promql'))
          await run(q, selection);
      });
    });
  },
);
