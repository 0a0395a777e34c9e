import request from 'supertest';
import { LokiReceiver } from '../logging/loki-receiver';
import {
  interpolate,
  loadDashboards,
  panelsOf,
  queriesOf,
  type Dashboard,
  type PanelQuery,
  type VariableSelection,
} from './support/grafana-dashboards';
import { runLogql, streamLabelsOf, type LogqlSample } from './support/logql-queries';
import { driveTraffic, ROUND, startOpsDemoApp, type OpsDemoApp } from './support/ops-demo-app';

/**
 * The Log Explorer's LogQL over the lines the real app writes and ships. Loki cannot run where
 * these tests run; the receiver of the logging tests implements Loki's push and query API and
 * evaluates LogQL log queries with Loki's documented semantics.
 */

type Line = Record<string, unknown> & { raw: string };

const dashboard: Dashboard = loadDashboards().find(
  (d) => d.model.uid === 'magure-log-explorer',
)!.model;
const queries = queriesOf(dashboard).filter((q) => q.language === 'logql');

const SLOW_REQUEST = 'req-slow-llm-call';
const SELECTION: VariableSelection = {
  datasource: 'magure-loki',
  app: 'magure-ai',
  agent: 'kpi-calculator',
  workflow: 'daily-report',
  request_id: SLOW_REQUEST,
  search: 'upstream overloaded',
};
const RANGE = '1h';

/**
 * What each panel is for, as a predicate on the app's log lines (logs panels) or the counts it
 * must show (metric panels). Every LogQL query of the dashboard must have an entry.
 */
const LINES_EXPECTED: Record<string, (l: Line) => boolean> = {
  'LLM calls of agent $agent': (l) =>
    l.event === 'llm_call_completed' && l.agent_id === SELECTION.agent,
  'Slow calls (> 5 s)': (l) => typeof l.latency_ms === 'number' && l.latency_ms > 5000,
  Errors: (l) => l.level === 'error' || l.level === 'fatal',
  'Request $request_id': (l) => l.request_id === SELECTION.request_id,
  'Workflow $workflow': (l) => l.workflow_id === SELECTION.workflow,
  'Text search': (l) => l.raw.includes(SELECTION.search as string),
};

/** Counts a metric query must return, computed from the lines, keyed by its legend's label set. */
const COUNTS_EXPECTED: Record<string, (lines: Line[]) => LogqlSample[]> = {
  'Log volume by level/A': (lines) => countBy(lines, 'level'),
  'LLM calls and slow calls/A': (lines) =>
    countBy(
      lines.filter((l) => l.event === 'llm_call_completed'),
      'model',
    ),
  'LLM calls and slow calls/B': (lines) => [
    {
      labels: {},
      value: lines.filter(
        (l) => l.event === 'llm_call_completed' && (l.latency_ms as number) > 5000,
      ).length,
    },
  ],
};

function countBy(lines: Line[], field: string): LogqlSample[] {
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(String(l[field]), (counts.get(String(l[field])) ?? 0) + 1);
  return [...counts].map(([value, n]) => ({ labels: { [field]: value }, value: n }));
}

const sortSamples = (s: LogqlSample[]) =>
  [...s].sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));

describe('Log Explorer LogQL over lines the app shipped to Loki', () => {
  const loki = new LokiReceiver();
  let demo: OpsDemoApp;
  let lines: Line[];
  const expr = (q: PanelQuery) =>
    interpolate(q.text, dashboard, 'logql', SELECTION, { __interval: RANGE, __auto: RANGE });
  const range = () => {
    const end = BigInt(Date.now() + 1) * 1_000_000n;
    return { start: end - 3_600_000_000_000n, end };
  };

  beforeAll(async () => {
    await loki.start();
    demo = await startOpsDemoApp({ lokiUrl: loki.url, options: { analyticsEnabled: false } });
    const http = demo.app.getHttpServer();
    // One LLM call slower than 5 s (the provider answers late), alongside a round of traffic.
    const slow = request(http)
      .post('/agents/researcher/execute?slowMs=5100')
      .set('X-Request-Id', SLOW_REQUEST)
      .then((res) => {
        if (res.status !== 200) throw new Error(`slow call answered ${res.status}`);
      });
    await Promise.all([slow, driveTraffic(demo.app)]);
    // Lines are written just after the response: wait for the request line of every request,
    // then for every line to reach the receiver.
    const requestLines = () => demo.logs.raw.filter((l) => l.includes('"event":"http_request"'));
    const deadline = Date.now() + 15_000;
    while (
      requestLines().length < ROUND.httpRequests + 1 ||
      loki.lineCount !== demo.logs.raw.length
    ) {
      if (Date.now() > deadline) throw new Error('the lines did not reach the Loki receiver');
      await new Promise((r) => setTimeout(r, 20));
    }
    lines = demo.logs.raw.map((raw) => ({ ...(JSON.parse(raw) as Record<string, unknown>), raw }));
  }, 60_000);

  afterAll(async () => {
    await demo?.app.close();
    await loki.stop();
  });

  it('the receiver holds exactly the lines the app wrote, in one stream labelled app and env', () => {
    expect([...loki.lines].sort()).toEqual([...demo.logs.raw].sort());
    expect(loki.labelSets).toEqual([{ app: 'magure-ai', env: 'test' }]);
  });

  it('the $app variable (label_values(app)) offers the app the module pushes', () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'app');
    expect(variable?.definition).toBe('label_values(app)');
    expect(new Set(loki.labelSets.map((l) => l.app))).toEqual(new Set([SELECTION.app]));
  });

  it('every query selects streams only by labels the app pushes: level and ids are JSON fields', () => {
    const pushed = new Set(loki.labelSets.flatMap((l) => Object.keys(l)));
    for (const q of queries)
      expect({
        query: q.label,
        labels: streamLabelsOf(expr(q)).filter((l) => !pushed.has(l)),
      }).toEqual({
        query: q.label,
        labels: [],
      });
  });

  it('applies stream selectors: another app or env has no lines', () => {
    expect(runLogql(loki, '{app="billing-api"} | json', range())).toEqual({
      kind: 'streams',
      lines: [],
    });
    expect(runLogql(loki, '{app="magure-ai", env="production"}', range())).toEqual({
      kind: 'streams',
      lines: [],
    });
    const all = runLogql(loki, '{app="magure-ai", env=~"te.t"}', range());
    expect(all.kind === 'streams' && all.lines.length).toBe(lines.length);
  });

  it('has an expectation for every LogQL query of the dashboard', () => {
    for (const q of queries) {
      const known =
        q.panel.type === 'logs'
          ? q.panel.title in LINES_EXPECTED
          : `${q.panel.title}/${q.target.refId}` in COUNTS_EXPECTED;
      expect({ query: q.label, known }).toEqual({ query: q.label, known: true });
    }
    expect(panelsOf(dashboard).filter((p) => p.type === 'logs')).toHaveLength(
      Object.keys(LINES_EXPECTED).length,
    );
  });

  describe.each(queries.filter((q) => q.panel.type === 'logs').map((q) => [q.label, q] as const))(
    '%s',
    (_label, q) => {
      it('returns exactly the lines the panel is for', () => {
        const want = lines.filter(LINES_EXPECTED[q.panel.title]!).map((l) => l.raw);
        expect(want.length).toBeGreaterThan(0);
        expect(want.length).toBeLessThan(lines.length);
        const got = runLogql(loki, expr(q), range());
        expect(got.kind).toBe('streams');
        if (got.kind === 'streams') expect([...got.lines].sort()).toEqual([...want].sort());
      });
    },
  );

  describe.each(queries.filter((q) => q.panel.type !== 'logs').map((q) => [q.label, q] as const))(
    '%s',
    (_label, q) => {
      it('counts the lines the app wrote', () => {
        const want = COUNTS_EXPECTED[`${q.panel.title}/${q.target.refId}`]!(lines);
        expect(want.reduce((n, s) => n + s.value, 0)).toBeGreaterThan(0);
        const got = runLogql(loki, expr(q), range());
        expect(got.kind).toBe('vector');
        if (got.kind === 'vector') expect(sortSamples(got.samples)).toEqual(sortSamples(want));
      });
    },
  );

  it("keeps the design's two queries verbatim", () => {
    const exprs = queries.map((q) => expr(q));
    expect(exprs).toContain(
      '{app="magure-ai"} |= "llm_call_completed" | json | agent_id="kpi-calculator"',
    );
    expect(exprs).toContain('{app="magure-ai"} | json | latency_ms > 5000');
  });

  it('the slow call is found by the slow-call query and by its request id', () => {
    const slow = runLogql(loki, '{app="magure-ai"} | json | latency_ms > 5000', range());
    const events =
      slow.kind === 'streams'
        ? slow.lines.map((l) => (JSON.parse(l) as { event: string }).event)
        : [];
    expect(events.sort()).toEqual(['agent_execution_completed', 'llm_call_completed']);
    const byRequest = runLogql(
      loki,
      `{app="magure-ai"} |= "${SLOW_REQUEST}" | json | request_id="${SLOW_REQUEST}"`,
      range(),
    );
    expect(byRequest.kind === 'streams' && byRequest.lines.length).toBe(
      lines.filter((l) => l.request_id === SLOW_REQUEST).length,
    );
  });
});
