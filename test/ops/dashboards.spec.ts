import { parser as logqlParser } from '@grafana/lezer-logql';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ALL,
  defaultSelection,
  familyOf,
  interpolate,
  loadDashboards,
  metricNamesIn,
  panelsOf,
  provisionedDatasources,
  queriesOf,
  resolveDatasource,
  type Dashboard,
  type DashboardPanel,
  type DatasourceRef,
  type VariableSelection,
} from './support/grafana-dashboards';
import {
  HISTOGRAM_FAMILIES,
  KNOWN_METRIC_FAMILIES,
  selectorProblems,
} from './support/metric-catalogue';
import { filesIn, GRAFANA_PROVISIONING, readYaml, RULES_DIR } from './support/ops-paths';

const dashboards = loadDashboards();
const provisioned = provisionedDatasources();

const EXPECTED = [
  {
    uid: 'magure-agent-performance',
    title: 'Agent Performance',
    variables: ['datasource', 'agent_type', 'agent'],
  },
  {
    uid: 'magure-llm-usage-costs',
    title: 'LLM Usage & Costs',
    variables: ['datasource', 'provider', 'model'],
  },
  {
    uid: 'magure-workflow-analytics',
    title: 'Workflow Analytics',
    variables: ['datasource', 'workflow'],
  },
  {
    uid: 'magure-system-health',
    title: 'System Health',
    variables: ['datasource', 'job', 'instance'],
  },
  {
    uid: 'magure-log-explorer',
    title: 'Log Explorer',
    variables: ['datasource', 'app', 'agent', 'workflow', 'request_id'],
  },
];

/** Tables created by migrations/*.ts: raw rows, hourly rollups, the aggregator's progress. */
const ANALYTICS_TABLES = [
  'llm_usage',
  'agent_executions',
  'workflow_analytics',
  'llm_usage_hourly',
  'llm_usage_hourly_by_model',
  'llm_usage_hourly_by_principal',
  'agent_executions_hourly',
  'workflow_analytics_hourly',
  'analytics_aggregation_state',
];

const PANEL_TYPES = new Set([
  'row',
  'timeseries',
  'stat',
  'gauge',
  'bargauge',
  'barchart',
  'piechart',
  'heatmap',
  'table',
  'histogram',
  'logs',
  'text',
]);

function dashboard(uid: string): Dashboard {
  const d = dashboards.find((x) => x.model.uid === uid);
  if (!d) throw new Error(`dashboard ${uid} missing`);
  return d.model;
}

/** LogQL parse errors (lezer error nodes) of a query, as positions. */
function logqlErrors(query: string): number[] {
  const errors: number[] = [];
  logqlParser.parse(query).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(node.from);
    },
  });
  return errors;
}

/** Arbitrary but well-formed values for every variable, for syntax checks. */
function sampleSelection(d: Dashboard): VariableSelection {
  const selection = defaultSelection(d);
  for (const v of d.templating.list) {
    if (selection[v.name] === undefined || selection[v.name] === '')
      selection[v.name] = v.includeAll ? ALL : `sample-${v.name}`;
  }
  return selection;
}

const SAMPLE_INTERVALS = { __interval: '1m', __rate_interval: '1m', __range: '6h', __auto: '1m' };

describe('Grafana dashboards (grafana/*.json)', () => {
  it('are the five dashboards of the design, with fixed unique uids and titles', () => {
    expect(dashboards.map((d) => d.model.uid).sort()).toEqual(EXPECTED.map((e) => e.uid).sort());
    for (const e of EXPECTED) expect(dashboard(e.uid).title).toBe(e.title);
    expect(new Set(dashboards.map((d) => d.model.title)).size).toBe(dashboards.length);
  });

  describe.each(dashboards.map((d) => [d.name, d.model] as const))('%s', (_name, d) => {
    it('follows the dashboard model: no numeric id, schemaVersion, time, refresh, templating, tags', () => {
      expect(d.id).toBeNull();
      expect(d.uid).toMatch(/^[a-z0-9-]{1,40}$/);
      expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
      expect(d.time).toEqual({ from: expect.stringMatching(/^now-\d+[mhdw]$/), to: 'now' });
      expect(['', '10s', '30s', '1m', '5m']).toContain(d.refresh);
      expect(Array.isArray(d.templating.list)).toBe(true);
      expect(d.tags).toContain('magure');
      expect(d.annotations.list.length).toBeGreaterThan(0);
      expect(d.description).toBeTruthy();
    });

    it('has panels with unique ids, valid types and grid positions inside 24 columns, not overlapping', () => {
      const all: DashboardPanel[] = [...d.panels, ...d.panels.flatMap((p) => p.panels ?? [])];
      const ids = all.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of all) {
        expect(Number.isInteger(p.id) && p.id > 0).toBe(true);
        expect(PANEL_TYPES.has(p.type)).toBe(true);
        const { x, y, w, h } = p.gridPos;
        for (const n of [x, y, w, h]) expect(Number.isInteger(n) && n >= 0).toBe(true);
        expect(w).toBeGreaterThan(0);
        expect(h).toBeGreaterThan(0);
        expect(x + w).toBeLessThanOrEqual(24);
      }
      for (let i = 0; i < all.length; i++) {
        for (let j = i + 1; j < all.length; j++) {
          const a = (all[i] as DashboardPanel).gridPos;
          const b = (all[j] as DashboardPanel).gridPos;
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          if (overlap) throw new Error(`panels ${all[i]?.id} and ${all[j]?.id} overlap`);
        }
      }
    });

    it('gives every panel a title, a description, a data source and targets with unique refIds', () => {
      for (const p of panelsOf(d)) {
        expect(p.title).toBeTruthy();
        expect(p.description).toBeTruthy();
        expect(p.datasource?.uid).toBeTruthy();
        expect(p.targets?.length).toBeGreaterThan(0);
        const refIds = (p.targets ?? []).map((t) => t.refId);
        expect(refIds.every((r) => /^[A-Z]$/.test(r))).toBe(true);
        expect(new Set(refIds).size).toBe(refIds.length);
      }
    });

    it('refers only to provisioned data sources, with the provisioned type', () => {
      const refs: { where: string; ref: DatasourceRef | undefined }[] = [];
      for (const p of panelsOf(d)) {
        refs.push({ where: `panel ${p.id}`, ref: p.datasource });
        for (const t of p.targets ?? [])
          if (t.datasource) refs.push({ where: `panel ${p.id} ${t.refId}`, ref: t.datasource });
      }
      for (const v of d.templating.list) {
        if (v.type === 'query') refs.push({ where: `variable ${v.name}`, ref: v.datasource });
        if (v.type === 'datasource')
          refs.push({
            where: `variable ${v.name}`,
            ref: { type: String(v.query), uid: String(v.current?.value) },
          });
      }
      for (const { where, ref } of refs) {
        const resolved = resolveDatasource(d, ref);
        const type = resolved?.uid ? provisioned.get(resolved.uid) : undefined;
        if (!type)
          throw new Error(
            `${d.uid} ${where}: data source uid "${resolved?.uid}" is not provisioned`,
          );
        expect({ where, type: resolved?.type }).toEqual({ where, type });
      }
    });

    it('sets a unit on every chart (tables set them per column)', () => {
      for (const p of panelsOf(d)) {
        if (p.type === 'logs') continue;
        const units = [
          p.fieldConfig?.defaults.unit,
          ...(p.fieldConfig?.overrides ?? []).flatMap((o) =>
            o.properties.filter((x) => x.id === 'unit').map((x) => x.value),
          ),
        ];
        if (!units.some(Boolean))
          throw new Error(`${d.uid} panel ${p.id} "${p.title}" sets no unit`);
      }
    });

    it('uses USD for cost, seconds for durations and tokens for token counts', () => {
      for (const q of queriesOf(d)) {
        const p = q.panel;
        const units = [
          p.fieldConfig?.defaults.unit,
          ...(p.fieldConfig?.overrides ?? []).flatMap((o) =>
            o.properties.filter((x) => x.id === 'unit').map((x) => x.value),
          ),
        ];
        const has = (u: RegExp) => units.some((x) => typeof x === 'string' && u.test(x));
        if (
          /magure_llm_cost_cents_total|cost_cents/.test(q.text) &&
          !/FILTER \(WHERE cost_cents IS NULL/.test(q.text) &&
          p.title !== 'Unpriced calls'
        ) {
          if (!has(/^currencyUSD$/)) throw new Error(`${q.label} shows cost without the USD unit`);
        }
        if (/histogram_quantile\(.*_duration_seconds_bucket/.test(q.text) && !has(/^s$/))
          throw new Error(`${q.label} shows a duration without seconds`);
        if (/magure_llm_tokens_total/.test(q.text) && !has(/tokens/))
          throw new Error(`${q.label} shows tokens without the tokens unit`);
      }
    });

    it('defines every variable its queries use', () => {
      for (const q of queriesOf(d)) {
        expect(() =>
          interpolate(q.text, d, q.language, sampleSelection(d), SAMPLE_INTERVALS),
        ).not.toThrow();
      }
    });

    it('reads only known metric families and defined recording rules in PromQL', () => {
      const recorded = new Set(
        filesIn(RULES_DIR, '.yml').flatMap((f) =>
          (readYaml<{ groups: { rules: { record?: string }[] }[] }>(f).groups ?? []).flatMap((g) =>
            g.rules.map((r) => r.record).filter(Boolean),
          ),
        ),
      );
      for (const q of queriesOf(d).filter((x) => x.language === 'promql')) {
        const names = metricNamesIn(q.text);
        expect(names.length).toBeGreaterThan(0);
        for (const name of names) {
          const known = name.includes(':')
            ? recorded.has(name)
            : KNOWN_METRIC_FAMILIES.has(familyOf(name, HISTOGRAM_FAMILIES));
          if (!known) throw new Error(`${q.label} reads unknown metric ${name}`);
        }
      }
    });

    it('names only real labels and label values of the metric families it reads', () => {
      for (const q of queriesOf(d).filter((x) => x.language === 'promql')) {
        const text = interpolate(q.text, d, 'promql', sampleSelection(d), SAMPLE_INTERVALS);
        expect({ query: q.label, problems: selectorProblems(text) }).toEqual({
          query: q.label,
          problems: [],
        });
      }
    });

    it('queries only the analytics tables of the migrations in SQL', () => {
      for (const q of queriesOf(d).filter((x) => x.language === 'sql')) {
        const text = q.text.replace(/--.*$/gm, '');
        // Names of the query's own common table expressions are not tables.
        const ctes = new Set(
          [...text.matchAll(/(?:\bWITH|,)\s+([a-z_]+)\s+AS\s+\(/gi)].map((m) => m[1]),
        );
        const tables = [...text.matchAll(/\bFROM\s+([a-z_]+)/gi)]
          .map((m) => m[1] as string)
          .filter((t) => !ctes.has(t));
        expect(tables.length).toBeGreaterThan(0);
        for (const t of tables) expect(ANALYTICS_TABLES).toContain(t);
      }
    });

    it('writes LogQL that parses (lezer-logql, no error nodes)', () => {
      for (const q of queriesOf(d).filter((x) => x.language === 'logql')) {
        const text = interpolate(q.text, d, 'logql', sampleSelection(d), SAMPLE_INTERVALS);
        const errors = logqlErrors(text);
        if (errors.length > 0)
          throw new Error(`${q.label}: LogQL parse error at ${errors.join(', ')} in ${text}`);
      }
    });
  });

  it('offers the template variables users expect on each dashboard', () => {
    for (const e of EXPECTED) {
      const names = dashboard(e.uid).templating.list.map((v) => v.name);
      for (const v of e.variables) expect(names).toContain(v);
    }
  });

  it('the LogQL check rejects malformed queries (it can fail)', () => {
    expect(logqlErrors('{app="magure-ai"} | json |').length).toBeGreaterThan(0);
    expect(logqlErrors('{app="magure-ai" |= "x"').length).toBeGreaterThan(0);
    expect(logqlErrors('sum(count_over_time({app="a"}))').length).toBeGreaterThan(0);
  });

  it('Log Explorer runs the design LogQL queries', () => {
    const d = dashboard('magure-log-explorer');
    const exprs = queriesOf(d)
      .filter((q) => q.language === 'logql')
      .map((q) =>
        interpolate(
          q.text,
          d,
          'logql',
          { ...sampleSelection(d), app: 'magure-ai', agent: 'kpi-calculator' },
          SAMPLE_INTERVALS,
        ),
      );
    expect(exprs).toContain(
      '{app="magure-ai"} |= "llm_call_completed" | json | agent_id="kpi-calculator"',
    );
    expect(exprs).toContain('{app="magure-ai"} | json | latency_ms > 5000');
    // Streams are labelled app and env only: the level is a JSON field of the line.
    expect(exprs).toContain('{app="magure-ai"} | json | level=~"error|fatal"');
    for (const e of exprs) expect(e).not.toMatch(/\{[^}]*\blevel\s*=/);
    expect(exprs.some((e) => e.includes('request_id="sample-request_id"'))).toBe(true);
    expect(exprs.some((e) => e.includes('workflow_id="sample-workflow"'))).toBe(true);
  });

  it('Agent Performance has the design panels: executions over time, success gauge, top 10 bar, latency heatmap', () => {
    const types = panelsOf(dashboard('magure-agent-performance')).map(
      (p) => `${p.type}:${p.title}`,
    );
    expect(types).toEqual(
      expect.arrayContaining([
        'timeseries:Executions over time',
        'gauge:Success rate by agent type',
        'bargauge:Top 10 agents by executions',
        'heatmap:Execution latency heatmap',
      ]),
    );
    const heatmap = queriesOf(dashboard('magure-agent-performance')).find(
      (q) => q.panel.type === 'heatmap',
    );
    expect(heatmap?.target.format).toBe('heatmap');
  });

  it('LLM Usage & Costs has stacked tokens, cost pie, cost over time, latency percentiles and the PostgreSQL long-range panels', () => {
    const d = dashboard('magure-llm-usage-costs');
    const byTitle = new Map(panelsOf(d).map((p) => [p.title, p]));
    expect(
      (
        byTitle.get('Tokens by model')?.fieldConfig?.defaults.custom as {
          stacking: { mode: string };
        }
      ).stacking.mode,
    ).toBe('normal');
    expect(byTitle.get('Cost breakdown by model')?.type).toBe('piechart');
    expect(byTitle.get('Cost over time')?.type).toBe('timeseries');
    expect(byTitle.get('Latency percentiles')?.targets?.length).toBe(3);
    const sqlTitles = queriesOf(d)
      .filter((q) => q.language === 'sql')
      .map((q) => q.panel.title);
    expect(sqlTitles).toEqual(
      expect.arrayContaining([
        'Cost last 30 days by model',
        'Cost last 90 days by model',
        'Cost by tenant',
      ]),
    );
    const sql = (title: string) => queriesOf(d).find((q) => q.panel.title === title)?.text ?? '';
    expect(sql('Cost last 90 days by model')).toContain("interval '90 days'");
    expect(sql('Cost last 30 days by model')).toContain("interval '30 days'");
    // Months of calls are read from the hourly rollups, not scanned row by row.
    expect(sql('Cost last 30 days by model')).toMatch(/FROM llm_usage_hourly_by_model\b/);
    expect(sql('Cost last 90 days by model')).toMatch(/FROM llm_usage_hourly_by_model\b/);
    expect(sql('Cost by tenant')).toMatch(/FROM llm_usage_hourly\b/);
  });

  it('Workflow Analytics takes the steps histogram from workflow_analytics.steps_executed', () => {
    const steps = queriesOf(dashboard('magure-workflow-analytics')).find(
      (q) => q.panel.title === 'Steps per run',
    );
    expect(steps?.panel.type).toBe('histogram');
    expect(steps?.language).toBe('sql');
    expect(steps?.text).toMatch(/SELECT steps_executed\s+FROM workflow_analytics/);
  });

  it('System Health covers CPU, memory, database connections, request rate, errors, p99, queue and log shipping', () => {
    const text = queriesOf(dashboard('magure-system-health'))
      .map((q) => q.text)
      .join('\n');
    for (const metric of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'magure_db_pool_connections',
      'magure_http_requests_total',
      'status_code=~"5.."',
      'histogram_quantile(0.99',
      'magure_analytics_queue_depth',
      'magure_analytics_rows_dropped_total',
      'magure_analytics_aggregation_last_closed_hour_timestamp_seconds',
      'magure_loki_lines_sent_total',
      'magure_loki_lines_dropped_total',
      'magure_loki_push_retries_total',
      'magure_loki_buffered_lines',
    ]) {
      expect(text).toContain(metric);
    }
  });

  it('are loaded by the provisioned dashboard provider from the mounted grafana/ folder', () => {
    const providers = filesIn(join(GRAFANA_PROVISIONING, 'dashboards'), '.yml').flatMap(
      (f) => readYaml<{ providers: { type: string; options: { path: string } }[] }>(f).providers,
    );
    expect(providers).toHaveLength(1);
    expect(providers[0]?.type).toBe('file');
    const compose = readFileSync(
      join(GRAFANA_PROVISIONING, '../../../docker-compose.monitoring.yml'),
      'utf8',
    );
    expect(compose).toContain(`../grafana:${providers[0]?.options.path}:ro`);
  });

  it('provisions Prometheus, Loki and PostgreSQL with fixed uids', () => {
    expect(Object.fromEntries(provisioned)).toEqual({
      'magure-prometheus': 'prometheus',
      'magure-loki': 'loki',
      'magure-postgres': 'grafana-postgresql-datasource',
    });
  });

  it('link run ids and request ids to the app\'s run view (workflow table, Log Explorer, Loki derived fields)', () => {
    const RUN_VIEW = '${app_url}/api/analytics/ui#';
    for (const uid of ['magure-workflow-analytics', 'magure-log-explorer']) {
      const appUrl = dashboard(uid).templating.list.find((v) => v.name === 'app_url') as { type: string; query: string } | undefined;
      expect(appUrl).toMatchObject({ type: 'textbox', query: 'http://localhost:3000' });
    }
    const json = JSON.stringify(dashboard('magure-workflow-analytics'));
    expect(json).toContain(`${RUN_VIEW}run=\${__value.raw}`);
    expect(json).toContain(`${RUN_VIEW}request=\${__value.raw}`);
    const failedRuns = (dashboard('magure-workflow-analytics') as unknown as { panels: { title: string; targets?: { rawSql?: string }[] }[] }).panels.find((p) => p.title === 'Recent failed runs')!;
    expect(failedRuns.targets![0]!.rawSql).toMatch(/\brun_id\b/);
    expect(JSON.stringify(dashboard('magure-log-explorer'))).toContain(`${RUN_VIEW}request=\${request_id}`);
    const loki = filesIn(join(GRAFANA_PROVISIONING, 'datasources'), '.yml')
      .flatMap((f) => readYaml<{ datasources: { uid: string; jsonData?: { derivedFields?: { name: string; matcherRegex: string; url: string }[] } }[] }>(f).datasources)
      .find((d) => d.uid === 'magure-loki')!;
    const fields = loki.jsonData!.derivedFields!;
    expect(fields.map((f) => [f.name, f.url])).toEqual([
      ['request_id', '$ANALYTICS_UI_URL#request=$${__value.raw}'],
      ['workflow_run_id', '$ANALYTICS_UI_URL#run=$${__value.raw}'],
    ]);
    // The matchers find the ids in the JSON lines the log sink writes.
    const line = '{"level":"info","event":"workflow_completed","workflow_run_id":"run-42","request_id":"req-7"}';
    expect(new RegExp(fields[0]!.matcherRegex).exec(line)?.[1]).toBe('req-7');
    expect(new RegExp(fields[1]!.matcherRegex).exec(line)?.[1]).toBe('run-42');
  });
});
