import request from 'supertest';
import { AnalyticsQueryService } from '../../../src/monitoring';
import type { DatabaseKind } from '../../support/analytics-databases';
import type { HttpAdapterName } from '../../support/http-adapters';
import { reaggregateAll, startModuleApp, type ModuleApp } from './analytics-module-app';
import {
  centsToNano,
  formatCents,
  formatUsd,
  generateWorkload,
  insertWorkload,
  percentileCont,
  percentileFromBuckets,
  round3,
  within,
  type AgentRow,
  type LlmRow,
  type WorkflowRow,
  type Workload,
} from './workload';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const floorHour = (t: number) => Math.floor(t / HOUR) * HOUR;
const iso = (t: number) => new Date(t).toISOString();

// ----- oracle: plain JS over the generated rows ------------------------------------------------

export function money(nano: bigint) {
  return { cents: formatCents(nano), usd: formatUsd(nano), centsValue: Number(formatCents(nano)), usdValue: Number(formatUsd(nano)) };
}

export function llmTotals(rows: LlmRow[]) {
  let cost = 0n;
  let prompt = 0;
  let completion = 0;
  let cached = 0;
  let reasoning = 0;
  let unpriced = 0;
  let usageMissing = 0;
  let failures = 0;
  for (const r of rows) {
    cost += centsToNano(r.cost_cents);
    prompt += r.prompt_tokens;
    completion += r.completion_tokens;
    cached += r.cached_tokens;
    reasoning += r.reasoning_tokens;
    if (r.cost_cents === null && r.success && !r.usage_missing) unpriced++;
    if (r.usage_missing) usageMissing++;
    if (!r.success) failures++;
  }
  return { calls: rows.length, cost, prompt, completion, cached, reasoning, unpriced, usageMissing, failures };
}

function groupBy<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const r of rows) map.set(key(r), [...(map.get(key(r)) ?? []), r]);
  return map;
}

function latencyOracle(values: number[], exact: boolean) {
  if (values.length === 0) return { count: 0, avgMs: null, p50Ms: null, p95Ms: null, maxMs: null, percentiles: null };
  const pick = exact ? percentileCont : percentileFromBuckets;
  return {
    count: values.length,
    avgMs: round3(values.reduce((a, b) => a + b, 0) / values.length),
    p50Ms: round3(pick(values, 0.5)),
    p95Ms: round3(pick(values, 0.95)),
    maxMs: Math.max(...values),
    percentiles: exact ? 'exact' : 'interpolated',
  };
}

function agentOracle(rows: AgentRow[], exact: boolean) {
  const failures = rows.filter((r) => r.success === false).length;
  const latencies = rows.map((r) => r.latency_ms).filter((v): v is number => v !== null);
  return {
    executions: rows.length,
    successes: rows.length - failures,
    failures,
    successRate: rows.length === 0 ? null : (rows.length - failures) / rows.length,
    latency: latencyOracle(latencies, exact),
  };
}

/**
 * The e2e suite of the analytics API on the real module: `MonitoringModule.forRoot` with its own
 * connection (embedded PGlite or a real PostgreSQL), its migrations and its hourly aggregator.
 * Raw rows are generated (seeded) over the last 56 hours, with extra rows around the previous
 * UTC midnight and in the current partial hour; every figure the API gives is compared with sums
 * over the generated rows.
 */
export function defineAnalyticsApiSuite(kind: DatabaseKind, adapter: HttpAdapterName = 'express'): void {
  let m: ModuleApp;
  let rows: Workload;
  // Setup time: every range below is fixed from it, so the rows in each range never change.
  let t0: number;
  let currentHour: number;
  let midnight: number;

  const http = () => request(m.app.getHttpServer());
  const ok = async (path: string) => {
    const res = await http().get(path);
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  };

  beforeAll(async () => {
    m = await startModuleApp(kind, {}, undefined, adapter);
    // Keep at least 3 s of the current hour behind us so it holds rows (the partial current hour).
    if (Date.now() - floorHour(Date.now()) < 3000) await new Promise((r) => setTimeout(r, 3000));
    t0 = Date.now();
    currentHour = floorHour(t0);
    midnight = Math.floor(t0 / DAY) * DAY - DAY;
    rows = generateWorkload({ seed: 42, from: new Date(t0 - 56 * HOUR), to: new Date(t0 - 2000), llm: 5000, agents: 1500, workflows: 700 });
    const extra = [
      // Dense around the previous midnight, for the range that crosses it.
      generateWorkload({ seed: 2025, from: new Date(midnight - 6 * HOUR), to: new Date(midnight + 6 * HOUR), llm: 2500, agents: 800, workflows: 300 }),
      // The current partial hour.
      generateWorkload({ seed: 7, from: new Date(currentHour), to: new Date(t0 - 1000), llm: 60, agents: 30, workflows: 20 }),
    ];
    for (const w of extra) {
      rows.llm.push(...w.llm);
      rows.agents.push(...w.agents);
      rows.workflows.push(...w.workflows);
    }
    await insertWorkload(m.source, rows);
    await reaggregateAll(m);
  }, 120_000);

  afterAll(async () => {
    await m?.close();
  });

  /** Rows of `[from, to)` of each table. */
  const slice = (from: number, to: number) => ({
    llm: within(rows.llm, (r) => r.timestamp, new Date(from), new Date(to)),
    agents: within(rows.agents, (r) => r.timestamp, new Date(from), new Date(to)),
    workflows: within(rows.workflows, (r) => r.finished_at, new Date(from), new Date(to)),
  });
  // "The last 24 hours" as of setup: an explicit `to` keeps the rows fixed however long tests take.
  const day = () => ({ q: `to=${iso(t0)}&hours=24`, ...slice(t0 - DAY, t0) });
  const nightFrom = () => midnight - HOUR - 29 * 60_000 - 44_750; // 22:30:15.250 UTC
  const nightTo = () => midnight + HOUR + 45 * 60_000; // 01:45 UTC
  const night = () => ({ q: `from=${iso(nightFrom())}&to=${iso(nightTo())}`, ...slice(nightFrom(), nightTo()) });

  it('GET costs?hours=24: exact totals and breakdown, from rollups plus raw edges and the current partial hour', async () => {
    const d = day();
    const body = await ok(`/api/analytics/costs?${d.q}`);
    const t = llmTotals(d.llm);
    expect(d.llm.some((r) => r.timestamp.getTime() >= currentHour)).toBe(true);
    expect(body.total).toEqual(money(t.cost));
    expect(body.calls).toBe(t.calls);
    expect(body.unpricedCalls).toBe(t.unpriced);
    expect(body.usageMissingCalls).toBe(t.usageMissing);
    expect(t.usageMissing).toBeGreaterThan(0);
    expect(body.source).toEqual({
      rollup: { from: iso(floorHour(t0 - DAY) + HOUR), to: iso(currentHour) },
      raw: [
        { from: iso(t0 - DAY), to: iso(floorHour(t0 - DAY) + HOUR) },
        { from: iso(currentHour), to: iso(t0) },
      ],
    });
    const byModel = groupBy(d.llm, (r) => `${r.provider}/${r.model}`);
    expect(body.byModel).toHaveLength(byModel.size);
    for (const line of body.byModel) {
      const g = llmTotals(byModel.get(`${line.provider}/${line.model}`)!);
      expect(line.cost).toEqual(money(g.cost));
      expect([line.calls, line.unpricedCalls, line.usageMissingCalls, line.promptTokens, line.completionTokens]).toEqual([
        g.calls,
        g.unpriced,
        g.usageMissing,
        g.prompt,
        g.completion,
      ]);
      expect(line.share).toBeCloseTo(Number(g.cost) / Number(t.cost), 12);
    }
    const costs = body.byModel.map((l: { cost: { cents: string } }) => centsToNano(l.cost.cents));
    expect([...costs].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))).toEqual(costs);
    const byProvider = groupBy(d.llm, (r) => r.provider);
    expect(body.byProvider.map((p: { provider: string }) => p.provider).sort()).toEqual([...byProvider.keys()].sort());
    for (const line of body.byProvider) expect(line.cost).toEqual(money(llmTotals(byProvider.get(line.provider)!).cost));

    // Plain `hours=24`, ending now: compared with the rows of the range the answer states.
    const live = await ok('/api/analytics/costs?hours=24');
    expect(Date.parse(live.range.to) - Date.parse(live.range.from)).toBe(DAY);
    expect(live.total).toEqual(money(llmTotals(slice(Date.parse(live.range.from), Date.parse(live.range.to)).llm).cost));
  });

  it('GET token-usage?hours=24: prompt, completion and total tokens, overall and by provider/model', async () => {
    const d = day();
    const body = await ok(`/api/analytics/token-usage?${d.q}`);
    const t = llmTotals(d.llm);
    expect(body.totals).toEqual({
      calls: t.calls,
      promptTokens: t.prompt,
      completionTokens: t.completion,
      totalTokens: t.prompt + t.completion,
      cachedTokens: t.cached,
      reasoningTokens: t.reasoning,
    });
    const byModel = groupBy(d.llm, (r) => `${r.provider}/${r.model}`);
    for (const line of body.byModel) {
      const g = llmTotals(byModel.get(`${line.provider}/${line.model}`)!);
      expect([line.calls, line.promptTokens, line.completionTokens, line.totalTokens]).toEqual([g.calls, g.prompt, g.completion, g.prompt + g.completion]);
    }
    const byProvider = groupBy(d.llm, (r) => r.provider);
    for (const line of body.byProvider) expect(line.completionTokens).toBe(llmTotals(byProvider.get(line.provider)!).completion);
    const live = await ok('/api/analytics/token-usage?hours=24');
    expect(live.totals.promptTokens).toBe(llmTotals(slice(Date.parse(live.range.from), Date.parse(live.range.to)).llm).prompt);
  });

  it('a range crossing midnight with both ends inside hours: costs and tokens to the nano-cent, with filters', async () => {
    const n = night();
    const body = await ok(`/api/analytics/costs?${n.q}`);
    expect(body.range).toEqual({ from: iso(nightFrom()), to: iso(nightTo()) });
    expect(body.source).toEqual({
      rollup: { from: iso(midnight - HOUR), to: iso(midnight + HOUR) },
      raw: [
        { from: iso(nightFrom()), to: iso(midnight - HOUR) },
        { from: iso(midnight + HOUR), to: iso(nightTo()) },
      ],
    });
    expect(body.total).toEqual(money(llmTotals(n.llm).cost));
    const filtered = n.llm.filter((r) => r.provider === 'openai' && r.tenant_id === 'acme');
    const f = await ok(`/api/analytics/costs?${n.q}&provider=openai&tenant_id=acme`);
    expect(f.total).toEqual(money(llmTotals(filtered).cost));
    expect(f.calls).toBe(filtered.length);
    expect(f.byProvider.map((p: { provider: string }) => p.provider)).toEqual(['openai']);
    const coder = n.llm.filter((r) => r.agent_id === 'coder' && r.model === 'gpt-4o-mini' && r.workflow_id === 'onboarding');
    const t = await ok(`/api/analytics/token-usage?${n.q}&agent_id=coder&model=gpt-4o-mini&workflow_id=onboarding`);
    expect(t.totals.promptTokens).toBe(llmTotals(coder).prompt);
    // The same instants written with a +01:00 offset: encoded, and with the "+" left unencoded
    // (it decodes to a space).
    const plusOne = (t: number) => iso(t + HOUR).replace('Z', '+01:00');
    const encoded = await ok(`/api/analytics/costs?from=${encodeURIComponent(plusOne(nightFrom()))}&to=${encodeURIComponent(plusOne(nightTo()))}`);
    expect(encoded.total).toEqual(body.total);
    const unencoded = await ok(`/api/analytics/costs?from=${plusOne(nightFrom())}&to=${plusOne(nightTo())}`);
    expect(unencoded.total).toEqual(body.total);
  });

  it('GET timeseries: zero-filled UTC buckets; day buckets split at midnight; points sum to the total', async () => {
    const n = night();
    const dayBuckets = await ok(`/api/analytics/timeseries?metric=cost&bucket=day&${n.q}`);
    const before = n.llm.filter((r) => r.timestamp.getTime() < midnight);
    const after = n.llm.filter((r) => r.timestamp.getTime() >= midnight);
    const point = (start: number, list: LlmRow[]) => {
      const exact = formatCents(llmTotals(list).cost);
      return { start: iso(start), exact, value: Number(exact) };
    };
    expect(dayBuckets.unit).toBe('cents');
    expect(dayBuckets.points).toEqual([point(midnight - DAY, before), point(midnight, after)]);
    expect(dayBuckets.total.exact).toBe(formatCents(llmTotals(n.llm).cost));

    const hourly = await ok(`/api/analytics/timeseries?metric=calls&${n.q}`);
    expect(hourly.bucket).toBe('hour');
    expect(hourly.points.map((p: { start: string }) => p.start)).toEqual([-2, -1, 0, 1].map((h) => iso(midnight + h * HOUR)));
    for (const p of hourly.points) {
      const start = Date.parse(p.start);
      expect(p.value).toBe(n.llm.filter((r) => floorHour(r.timestamp.getTime()) === start).length);
    }
    // Zero-filled: hours before the oldest row.
    const from = floorHour(t0) - 70 * HOUR;
    const empty = await ok(`/api/analytics/timeseries?metric=tokens&from=${iso(from)}&to=${iso(from + 3 * HOUR)}`);
    expect(empty.points).toEqual([0, 1, 2].map((h) => ({ start: iso(from + h * HOUR), value: 0, exact: '0' })));
  });

  it('GET timeseries over the last 24 hours: every hourly point (tokens, errors) equals the raw rows, current partial hour included', async () => {
    const d = day();
    const tokens = await ok(`/api/analytics/timeseries?metric=tokens&bucket=hour&${d.q}`);
    const errors = await ok(`/api/analytics/timeseries?metric=errors&${d.q}`);
    expect(tokens.points).toHaveLength(25);
    for (const p of tokens.points) {
      const t = llmTotals(d.llm.filter((r) => floorHour(r.timestamp.getTime()) === Date.parse(p.start)));
      expect(p.value).toBe(t.prompt + t.completion);
    }
    const current = tokens.points.find((p: { start: string }) => p.start === iso(currentHour));
    expect(current.value).toBeGreaterThan(0);
    for (const p of errors.points) {
      expect(p.value).toBe(llmTotals(d.llm.filter((r) => floorHour(r.timestamp.getTime()) === Date.parse(p.start))).failures);
    }
    expect(errors.total.value).toBe(llmTotals(d.llm).failures);
  });

  it('GET agent-success-rate: counts and latency for one agent and all; exact percentiles on an all-raw range', async () => {
    const d = day();
    const all = await ok(`/api/analytics/agent-success-rate?${d.q}`);
    const o = agentOracle(d.agents, false);
    expect({ ...all, range: undefined, source: undefined }).toEqual({ ...o, agentId: null, range: undefined, source: undefined });
    const one = await ok(`/api/analytics/agent-success-rate?agent_id=planner&${d.q}`);
    expect(one.agentId).toBe('planner');
    const planner = agentOracle(d.agents.filter((r) => r.agent_id === 'planner'), false);
    expect([one.executions, one.successes, one.failures]).toEqual([planner.executions, planner.successes, planner.failures]);
    expect(one.successRate).toBeCloseTo(planner.successRate!, 12);
    expect(one.latency).toEqual(planner.latency);
    // Inside one hour: no whole hour, the raw rows answer and percentiles are exact.
    const from = midnight - HOUR + 5 * 60_000;
    const to = midnight - 5 * 60_000;
    const exact = await ok(`/api/analytics/agent-success-rate?from=${iso(from)}&to=${iso(to)}`);
    expect(exact.source.rollup).toBeNull();
    expect(exact.latency).toEqual(agentOracle(slice(from, to).agents, true).latency);
    expect(exact.latency.percentiles).toBe('exact');
  });

  it('GET agents: leaderboard per (agent_id, agent_type) with sorting and limit', async () => {
    const d = day();
    const body = await ok(`/api/analytics/agents?${d.q}`);
    const groups = groupBy(d.agents, (r) => `${r.agent_id}/${r.agent_type}`);
    expect(body.count).toBe(groups.size);
    for (const a of body.agents) {
      const list = groups.get(`${a.agentId}/${a.agentType}`)!;
      const o = agentOracle(list, false);
      expect([a.executions, a.successes, a.failures]).toEqual([o.executions, o.successes, o.failures]);
      expect(a.latency).toEqual(o.latency);
      expect(a.cost).toEqual(money(list.reduce((s, r) => s + centsToNano(r.cost_cents), 0n)));
      expect([a.toolCalls, a.llmCalls, a.tokensUsed]).toEqual([
        list.reduce((s, r) => s + r.tool_calls_count, 0),
        list.reduce((s, r) => s + r.llm_calls_count, 0),
        list.reduce((s, r) => s + r.tokens_used, 0),
      ]);
    }
    const execs = body.agents.map((a: { executions: number }) => a.executions);
    expect([...execs].sort((x, y) => y - x)).toEqual(execs);
    const bySuccess = await ok(`/api/analytics/agents?${d.q}&sort=success_rate&order=asc&limit=2`);
    expect(bySuccess.agents).toHaveLength(2);
    expect(bySuccess.agents[0].successRate).toBeLessThanOrEqual(bySuccess.agents[1].successRate);
    const byCost = await ok(`/api/analytics/agents?${d.q}&sort=cost`);
    const nanos = byCost.agents.map((a: { cost: { cents: string } }) => centsToNano(a.cost.cents));
    expect([...nanos].sort((x, y) => (x > y ? -1 : x < y ? 1 : 0))).toEqual(nanos);
    const byLatency = await ok(`/api/analytics/agents?${d.q}&sort=latency&agent_type=llm`);
    expect(byLatency.agents.every((a: { agentType: string }) => a.agentType === 'llm')).toBe(true);
    const p95 = byLatency.agents.map((a: { latency: { p95Ms: number } }) => a.latency.p95Ms);
    expect([...p95].sort((x, y) => y - x)).toEqual(p95);
  });

  it('GET workflows: runs, status distribution, duration and steps per workflow and overall', async () => {
    const check = (stats: Record<string, unknown>, list: WorkflowRow[], exact: boolean) => {
      const count = (s: string) => list.filter((r) => r.status === s).length;
      const durations = list.map((r) => r.duration_ms).filter((v): v is number => v !== null);
      const steps = list.reduce((s, r) => s + r.steps_executed, 0);
      expect(stats).toMatchObject({
        runs: list.length,
        completed: count('completed'),
        failed: count('failed'),
        timeout: count('timeout'),
        stepsExecuted: steps,
        stepsFailed: list.reduce((s, r) => s + r.steps_failed, 0),
        avgStepsPerRun: round3(steps / list.length),
        llmCalls: list.reduce((s, r) => s + r.llm_calls_count, 0),
        tokensUsed: list.reduce((s, r) => s + r.tokens_used, 0),
        cost: money(list.reduce((s, r) => s + centsToNano(r.cost_cents), 0n)),
        duration: latencyOracle(durations, exact),
      });
      expect(stats['successRate']).toBeCloseTo(count('completed') / list.length, 12);
    };
    const d = day();
    const body = await ok(`/api/analytics/workflows?${d.q}`);
    check(body.totals, d.workflows, false);
    const groups = groupBy(d.workflows, (r) => r.workflow_id);
    expect(body.count).toBe(groups.size);
    for (const w of body.workflows) check(w, groups.get(w.workflowId)!, false);
    const failed = await ok(`/api/analytics/workflows?${d.q}&status=failed&workflow_id=onboarding`);
    check(failed.totals, d.workflows.filter((r) => r.status === 'failed' && r.workflow_id === 'onboarding'), false);
    const from = midnight + 2 * HOUR + 10 * 60_000;
    const to = midnight + 2 * HOUR + 50 * 60_000;
    const exact = await ok(`/api/analytics/workflows?from=${iso(from)}&to=${iso(to)}`);
    check(exact.totals, slice(from, to).workflows, true);
  });

  it('GET summary: the widget strip', async () => {
    const d = day();
    const body = await ok(`/api/analytics/summary?${d.q}`);
    const t = llmTotals(d.llm);
    const agentFailures = d.agents.filter((r) => r.success === false).length;
    expect(body).toMatchObject({
      agentExecutions: d.agents.length,
      agentFailures,
      llmCalls: t.calls,
      llmFailures: t.failures,
      promptTokens: t.prompt,
      completionTokens: t.completion,
      totalTokens: t.prompt + t.completion,
      cost: money(t.cost),
      unpricedCalls: t.unpriced,
      usageMissingCalls: t.usageMissing,
      workflowRuns: d.workflows.length,
    });
    expect(body.successRate).toBeCloseTo((d.agents.length - agentFailures) / d.agents.length, 12);
    expect(body.errorRate).toBeCloseTo(t.failures / t.calls, 12);
    expect(body.workflowSuccessRate).toBeCloseTo(d.workflows.filter((w) => w.status === 'completed').length / d.workflows.length, 12);
    const n = night();
    const acme = await ok(`/api/analytics/summary?${n.q}&tenant_id=acme`);
    expect(acme.cost).toEqual(money(llmTotals(n.llm.filter((r) => r.tenant_id === 'acme')).cost));
    expect(acme.agentExecutions).toBe(n.agents.filter((r) => r.tenant_id === 'acme').length);
    expect(acme.workflowRuns).toBe(n.workflows.filter((r) => r.tenant_id === 'acme').length);
  });

  it('GET costs/by-tenant and costs/by-user: top N by cost, unattributed calls as null', async () => {
    const d = day();
    const body = await ok(`/api/analytics/costs/by-tenant?${d.q}&limit=2`);
    const tenants = [...groupBy(d.llm, (r) => r.tenant_id ?? '')].map(([id, list]) => ({ id: id || null, ...llmTotals(list) }));
    tenants.sort((a, b) => (a.cost > b.cost ? -1 : a.cost < b.cost ? 1 : 0));
    expect(body.count).toBe(tenants.length);
    expect(body.total).toEqual(money(llmTotals(d.llm).cost));
    expect(body.tenants.map((t: { tenantId: string | null; cost: unknown; calls: number }) => [t.tenantId, t.cost, t.calls])).toEqual(
      tenants.slice(0, 2).map((t) => [t.id, money(t.cost), t.calls]),
    );
    const users = await ok(`/api/analytics/costs/by-user?${d.q}&limit=1000&tenant_id=globex`);
    const perUser = groupBy(d.llm.filter((r) => r.tenant_id === 'globex'), (r) => r.user_id ?? '');
    expect(users.count).toBe(perUser.size);
    for (const u of users.users) expect(u.cost).toEqual(money(llmTotals(perUser.get(u.userId ?? '')!).cost));
    expect(users.users.some((u: { userId: string | null }) => u.userId === null)).toBe(true);
  });

  it('gives the same figures whatever the rollups hold: none, all closed hours, or a lagging aggregator', async () => {
    const paths = [
      `/api/analytics/costs?${night().q}`,
      `/api/analytics/token-usage?to=${iso(t0)}&hours=30`,
      `/api/analytics/summary?${night().q}`,
      `/api/analytics/costs/by-user?to=${iso(t0)}&hours=30&limit=50`,
      `/api/analytics/costs/by-tenant?to=${iso(t0)}&hours=30&limit=50`,
      `/api/analytics/costs/by-user?to=${iso(t0)}&hours=30&limit=50&tenant_id=globex`,
      `/api/analytics/timeseries?metric=cost&bucket=day&from=${iso(midnight - 5 * HOUR - 1234)}&to=${iso(midnight + 5 * HOUR + 4321)}`,
      `/api/analytics/agents?${day().q}`,
    ];
    const strip = (b: Record<string, unknown>) => {
      const { range: _r, source: _s, ...rest } = b;
      // Percentiles differ by method (exact vs interpolated); the sums never do.
      return JSON.parse(JSON.stringify(rest, (k, v) => (['p50Ms', 'p95Ms', 'percentiles'].includes(k) ? undefined : v)));
    };
    const answers = async () => Promise.all(paths.map(async (p) => strip(await ok(p))));
    const rolledUp = await answers();
    const source = (await ok(`/api/analytics/costs?to=${iso(t0)}&hours=30`)).source;
    expect(source.rollup).not.toBeNull();

    // The per-model rollup only from the previous midnight on (as after upgrading a database
    // that had rollups before that table existed): earlier hours come from the full rollup.
    await m.source.query(`DELETE FROM "llm_usage_hourly_by_model" WHERE "hour" < $1`, [iso(midnight)]);
    // Likewise the per-principal rollup, from another hour on.
    await m.source.query(`DELETE FROM "llm_usage_hourly_by_principal" WHERE "hour" < $1`, [iso(midnight + 3 * HOUR)]);
    const upgraded = await answers();

    // The aggregator three hours behind: those hours come from raw rows.
    await m.source.query(`UPDATE "analytics_aggregation_state" SET "last_closed_hour" = "last_closed_hour" - interval '3 hours', "updated_at" = now()`);
    const lagging = await answers();
    const laggingSource = (await ok(`/api/analytics/costs?to=${iso(t0)}&hours=30`)).source;
    expect(laggingSource.rollup.to).toBe(iso(currentHour - 3 * HOUR));

    // No progress recorded: everything from raw rows.
    await m.source.query(`DELETE FROM "analytics_aggregation_state"`);
    const rawOnly = await answers();
    expect((await ok(`/api/analytics/costs?to=${iso(t0)}&hours=30`)).source.rollup).toBeNull();

    await reaggregateAll(m);
    expect(upgraded).toEqual(rolledUp);
    expect(lagging).toEqual(rolledUp);
    expect(rawOnly).toEqual(rolledUp);
  });

  it('reads costs by tenant and by user from the per-principal rollup unless another filter applies', async () => {
    const q = `to=${iso(t0)}&hours=30&limit=1000`;
    const calls = (b: { tenants?: { calls: number }[]; users?: { calls: number }[] }) =>
      [...(b.tenants ?? []), ...(b.users ?? [])].reduce((s, l) => s + l.calls, 0);
    const paths = [`/api/analytics/costs/by-tenant?${q}`, `/api/analytics/costs/by-user?${q}&tenant_id=acme`];
    const filtered = `/api/analytics/costs/by-tenant?${q}&provider=openai`;
    const before = await Promise.all(paths.map(ok));
    const beforeFiltered = await ok(filtered);
    expect(before[0].source.rollup).not.toBeNull();
    try {
      // Mark the per-principal rows (one call more each): only reports reading them change.
      await m.source.query(`UPDATE "llm_usage_hourly_by_principal" SET "calls" = "calls" + 1`);
      await m.source.query(`UPDATE "analytics_aggregation_state" SET "updated_at" = now() + interval '1 second'`);
      const after = await Promise.all(paths.map(ok));
      after.forEach((body, i) => expect(calls(body)).toBeGreaterThan(calls(before[i])));
      expect(await ok(filtered)).toEqual(beforeFiltered);
    } finally {
      await reaggregateAll(m);
    }
    const withoutSource = ({ source: _s, ...rest }: Record<string, unknown>) => rest;
    expect((await Promise.all(paths.map(ok))).map(withoutSource)).toEqual(before.map(withoutSource));
  });

  it('answers from the rollup cache equal fresh answers, for every report shape over one range', async () => {
    const q = `to=${iso(currentHour - 1)}&hours=40`;
    const paths = [
      `/api/analytics/timeseries?metric=cost&bucket=day&${q}`,
      `/api/analytics/timeseries?metric=cost&bucket=hour&${q}`,
      `/api/analytics/timeseries?metric=tokens&bucket=day&${q}`,
      `/api/analytics/timeseries?metric=calls&bucket=day&${q}&provider=openai`,
      `/api/analytics/costs?${q}`,
      `/api/analytics/costs?${q}&model=gpt-4o`,
      `/api/analytics/token-usage?${q}`,
      `/api/analytics/summary?${q}`,
      `/api/analytics/agents?${q}`,
      `/api/analytics/agents?${q}&sort=latency`,
      `/api/analytics/agent-success-rate?${q}&agent_id=coder`,
      `/api/analytics/workflows?${q}`,
      `/api/analytics/costs/by-tenant?${q}`,
      `/api/analytics/costs/by-user?${q}&limit=3`,
    ];
    const service = m.app.get(AnalyticsQueryService);
    const answers = async () => {
      const out = [];
      for (const p of paths) out.push(await ok(p));
      return out;
    };
    service.clearCache();
    const fresh = await answers();
    const cached = await answers();
    const again = await answers();
    expect(cached).toEqual(fresh);
    expect(again).toEqual(fresh);
    // And the hourly series, read after the daily one of the same range, is right.
    const d = slice(currentHour - 1 - 40 * HOUR, currentHour - 1);
    for (const p of fresh[1].points) {
      expect(p.exact).toBe(formatCents(llmTotals(d.llm.filter((r) => floorHour(r.timestamp.getTime()) === Date.parse(p.start))).cost));
    }
  });

  it('late rows: counted once the aggregator rebuilds their hour (cached rollup hours are dropped then)', async () => {
    const range = `to=${iso(currentHour)}&hours=48`;
    const before = await ok(`/api/analytics/costs?${range}`);
    expect(before.source.raw).toEqual([]);
    // Two calls written late: one into the last closed hour (inside the aggregator's look-back),
    // one ten hours back (outside it).
    const late = (hourStart: number, cents: string) => ({
      ...rows.llm[0]!,
      timestamp: new Date(hourStart + 1234),
      provider: 'late-provider',
      model: 'late-model',
      cost_cents: cents,
    });
    const recentLate = late(currentHour - HOUR, '7.000000001');
    const oldLate = late(currentHour - 10 * HOUR, '5.000000000');
    await insertWorkload(m.source, { llm: [recentLate, oldLate], agents: [], workflows: [] });
    rows.llm.push(recentLate, oldLate);
    // Until the aggregator runs, closed hours are answered from the rollup as it stands.
    expect((await ok(`/api/analytics/costs?${range}`)).total).toEqual(before.total);
    const run = await m.aggregator.run();
    expect(run.status).toBe('completed');
    const afterRun = await ok(`/api/analytics/costs?${range}`);
    expect(afterRun.total).toEqual(money(centsToNano(before.total.cents) + centsToNano('7.000000001')));
    // Rows older than the look-back window: counted after a full rebuild, once the API's cache
    // of rollup hours is cleared (a rebuild finished between two requests cannot be seen).
    await reaggregateAll(m);
    expect((await ok(`/api/analytics/costs?${range}`)).total).toEqual(afterRun.total);
    m.app.get(AnalyticsQueryService).clearCache();
    const rebuilt = await ok(`/api/analytics/costs?${range}`);
    expect(rebuilt.total).toEqual(money(centsToNano(before.total.cents) + centsToNano('12.000000001')));
    // Without the cache, the rebuilt rollup answers at once.
    expect((await ok(`/api/analytics/costs?${range}`)).total).toEqual(rebuilt.total);
  });

  it('answers 400 naming the parameter for every kind of bad input', async () => {
    const instant = 'must be an ISO 8601 date or date-time with a time zone (e.g. 2025-01-31 or 2025-01-31T00:00:00Z)';
    const cases: Array<[string, string[]]> = [
      ['/costs?hours=0', ['hours must be an integer from 1 to 87600']],
      ['/costs?hours=87601', ['hours must be an integer from 1 to 87600']],
      ['/costs?hours=1.5', ['hours must be an integer from 1 to 87600']],
      ['/costs?hours=abc', ['hours must be an integer from 1 to 87600']],
      ['/costs?hours=', ['hours must be an integer from 1 to 87600']],
      ['/costs?hours=1e3', ['hours must be an integer from 1 to 87600']],
      ['/costs?hours=%2024', ['hours must be an integer from 1 to 87600']],
      ['/costs?hours=1&hours=2', ['hours must be an integer from 1 to 87600']],
      ['/costs/by-tenant?limit=0', ['limit must be an integer from 1 to 1000']],
      ['/costs/by-user?limit=1001', ['limit must be an integer from 1 to 1000']],
      ['/agents?limit=-1', ['limit must be an integer from 1 to 1000']],
      ['/workflows?limit=x', ['limit must be an integer from 1 to 1000']],
      ['/costs?from=yesterday', [`from ${instant}`]],
      ['/costs?from=2025-02-30', [`from ${instant}`]],
      ['/costs?from=2025-03-01T10:00:00', [`from ${instant}`]],
      ['/costs?from=2025-03-01T24:00:00Z', [`from ${instant}`]],
      ['/costs?to=2025-13-01', [`to ${instant}`]],
      ['/costs?to=2025-01-01&to=2025-01-02', [`to ${instant}`]],
      ['/costs?from=2025-03-02&to=2025-03-01', ['from must be earlier than to']],
      ['/costs?from=2025-03-01T00:00:00Z&to=2025-03-01T00:00:00Z', ['from must be earlier than to']],
      ['/costs?from=2999-01-01', ['from must be earlier than now']],
      ['/costs?from=1990-01-01&to=2001-01-01', ['the range from..to must not exceed 87600 hours']],
      ['/costs?hours=24&from=2025-03-01', ['hours cannot be combined with from (give from/to, or hours with an optional to)']],
      ['/timeseries', ['metric must be one of: cost, tokens, calls, errors']],
      ['/timeseries?metric=latency', ['metric must be one of: cost, tokens, calls, errors']],
      ['/timeseries?metric=cost&bucket=week', ['bucket must be one of: hour, day']],
      ['/timeseries?metric=cost&bucket=hour&to=2025-03-01&hours=87600', ['the range has 87600 hour buckets, more than 10000: use bucket=day or a shorter range']],
      ['/agents?sort=name', ['sort must be one of: executions, success_rate, latency, cost']],
      ['/agents?order=up', ['order must be one of: asc, desc']],
      ['/workflows?status=running', ['status must be one of: completed, failed, timeout']],
      ['/costs?provider=', ['provider must be a string of 1 to 1024 characters without control characters']],
      ['/costs?model=a%00b', ['model must be a string of 1 to 1024 characters without control characters']],
      [`/costs?tenant_id=${'x'.repeat(1025)}`, ['tenant_id must be a string of 1 to 1024 characters without control characters']],
      ['/costs?agent_id=a&agent_id=b', ['agent_id must be a string of 1 to 1024 characters without control characters']],
      ['/costs?foo=1', ['property foo should not exist']],
      ['/agents?provider=openai', ['property provider should not exist']],
      ['/summary?agent_id=planner', ['property agent_id should not exist']],
      ['/costs?hours=0&bogus=1', ['property bogus should not exist', 'hours must be an integer from 1 to 87600']],
      ['/costs?__proto__=1', ['property __proto__ should not exist']],
      ['/costs?constructor=x&toString=y', ['property constructor should not exist', 'property toString should not exist']],
      ['/timeseries?hasOwnProperty=1', ['property hasOwnProperty should not exist', 'metric must be one of: cost, tokens, calls, errors']],
    ];
    const answered = [];
    for (const [path] of cases) {
      const res = await http().get(`/api/analytics${path}`);
      answered.push([path, res.status, res.body]);
    }
    expect(answered).toEqual(
      cases.map(([path, message]) => [path, 400, { statusCode: 400, error: 'Bad Request', message: message.join('; ') }]),
    );
  });

  it('binds every filter as a parameter: SQL in a filter value is data', async () => {
    const d = day();
    const injection = encodeURIComponent("openai' OR '1'='1");
    const body = await ok(`/api/analytics/costs?${d.q}&provider=${injection}`);
    expect([body.calls, body.total.cents]).toEqual([0, '0.000000000']);
    const quoted = await ok(`/api/analytics/costs?${d.q}&tenant_id=${encodeURIComponent('"; DROP TABLE "llm_usage"; --')}`);
    expect(quoted.calls).toBe(0);
    expect((await ok(`/api/analytics/costs?${d.q}`)).calls).toBe(d.llm.length);
  });
}
