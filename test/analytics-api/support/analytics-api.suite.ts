import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createAnalyticsApp } from './analytics-app';
import { buildRollupsUntil, dropRollups } from './rollups';
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
  type SqlRunner,
  type WorkflowRow,
  type Workload,
} from './workload';

const HOUR = 3_600_000;
const floorHour = (t: number) => Math.floor(t / HOUR) * HOUR;

/** A migrated analytics database for one test file. */
export interface SuiteDatabase {
  runner: SqlRunner;
  close(): Promise<void>;
}

// ----- oracle helpers (plain JS over the generated rows) ---------------------------------------

function money(nano: bigint) {
  return { cents: formatCents(nano), usd: formatUsd(nano), centsValue: Number(formatCents(nano)), usdValue: Number(formatUsd(nano)) };
}

function llmTotals(rows: LlmRow[]) {
  let cost = 0n;
  let prompt = 0;
  let completion = 0;
  let cached = 0;
  let reasoning = 0;
  let unpriced = 0;
  let failures = 0;
  for (const r of rows) {
    cost += centsToNano(r.cost_cents);
    prompt += r.prompt_tokens;
    completion += r.completion_tokens;
    cached += r.cached_tokens;
    reasoning += r.reasoning_tokens;
    if (r.cost_cents === null) unpriced++;
    if (!r.success) failures++;
  }
  return { calls: rows.length, cost, prompt, completion, cached, reasoning, unpriced, failures };
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
 * The e2e suite of the analytics API, run on each database engine. Data: a workload over the last
 * 48 hours (with rows in the current partial hour) and a fixed workload around midnight
 * 2025-03-01/02 UTC. Every figure is compared with sums over the generated rows.
 */
export function defineAnalyticsApiSuite(engine: string, openDatabase: () => Promise<SuiteDatabase | { skip: string }>): void {
  describe(`analytics API on ${engine}`, () => {
    let db: SuiteDatabase | undefined;
    let skip: string | undefined;
    let app: INestApplication;
    let recent: Workload;
    let night: Workload;
    // Rows near the start of "the last 24 hours" are left out so the range's rows stay the same
    // however long the tests take.
    const guardMs = 10 * 60_000;

    const http = () => request(app.getHttpServer());
    const get = async (path: string) => {
      const res = await http().get(path);
      return res;
    };
    const ok = async (path: string) => {
      const res = await get(path);
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body;
    };

    beforeAll(async () => {
      const opened = await openDatabase();
      if ('skip' in opened) {
        skip = opened.skip;
        console.warn(`analytics API on ${engine} skipped: ${skip}`);
        return;
      }
      db = opened;
      // Leave at least 3 s of the current hour so it holds rows (the partial current hour).
      if (Date.now() - floorHour(Date.now()) < 3000) await new Promise((r) => setTimeout(r, 3000));
      const now = Date.now();
      const dayAgo = now - 24 * HOUR;
      recent = generateWorkload({ seed: 42, from: new Date(now - 48 * HOUR), to: new Date(now - 2000), llm: 4000, agents: 1500, workflows: 600 });
      // Both range starts the tests use (24 h and 30 h ago).
      const awayFromEdge = (t: Date) =>
        Math.abs(t.getTime() - dayAgo) > guardMs && Math.abs(t.getTime() - (now - 30 * HOUR)) > guardMs;
      recent.llm = recent.llm.filter((r) => awayFromEdge(r.timestamp));
      recent.agents = recent.agents.filter((r) => awayFromEdge(r.timestamp));
      recent.workflows = recent.workflows.filter((r) => awayFromEdge(r.finished_at));
      // Rows in the current partial hour, for sure.
      const currentHour = generateWorkload({ seed: 7, from: new Date(floorHour(now)), to: new Date(now - 1000), llm: 60, agents: 30, workflows: 20 });
      recent.llm.push(...currentHour.llm);
      recent.agents.push(...currentHour.agents);
      recent.workflows.push(...currentHour.workflows);
      night = generateWorkload({
        seed: 2025,
        from: new Date('2025-03-01T18:00:00Z'),
        to: new Date('2025-03-02T06:00:00Z'),
        llm: 2500,
        agents: 800,
        workflows: 300,
      });
      await insertWorkload(db.runner, recent);
      await insertWorkload(db.runner, night);
      // Rolled up until two hours ago: the last closed hour is "not aggregated yet" and read raw.
      await buildRollupsUntil(db.runner, new Date(floorHour(now) - 1 * HOUR));
      app = await createAnalyticsApp(db.runner);
    }, 60_000);

    afterAll(async () => {
      await app?.close();
      await db?.close();
    });

    const live = () => {
      if (skip !== undefined) {
        // Visible in the output; CI never gets here (requirePostgres throws when CI=true).
        console.warn(`skipped: ${skip}`);
        return false;
      }
      return true;
    };

    const lastDay = () => {
      const now = Date.now();
      return {
        llm: within(recent.llm, (r) => r.timestamp, new Date(now - 24 * HOUR), new Date(now + 1)),
        agents: within(recent.agents, (r) => r.timestamp, new Date(now - 24 * HOUR), new Date(now + 1)),
        workflows: within(recent.workflows, (r) => r.finished_at, new Date(now - 24 * HOUR), new Date(now + 1)),
      };
    };

    const NIGHT_FROM = '2025-03-01T22:30:15.250Z';
    const NIGHT_TO = '2025-03-02T01:45:00Z';
    const nightRange = () => {
      const from = new Date(NIGHT_FROM);
      const to = new Date(NIGHT_TO);
      return {
        llm: within(night.llm, (r) => r.timestamp, from, to),
        agents: within(night.agents, (r) => r.timestamp, from, to),
        workflows: within(night.workflows, (r) => r.finished_at, from, to),
      };
    };

    it('GET costs?hours=24: exact totals and breakdown, from rollups plus raw edges and the current partial hour', async () => {
      if (!live()) return;
      const body = await ok('/api/analytics/costs?hours=24');
      const rows = lastDay().llm;
      const t = llmTotals(rows);
      expect(rows.some((r) => r.timestamp.getTime() >= floorHour(Date.now()))).toBe(true);
      expect(body.total).toEqual(money(t.cost));
      expect(body.calls).toBe(t.calls);
      expect(body.unpricedCalls).toBe(t.unpriced);
      expect(body.source.rollup).not.toBeNull();
      expect(body.source.raw).toHaveLength(2);
      const byModel = groupBy(rows, (r) => `${r.provider}/${r.model}`);
      expect(body.byModel).toHaveLength(byModel.size);
      for (const line of body.byModel) {
        const m = llmTotals(byModel.get(`${line.provider}/${line.model}`)!);
        expect(line.cost).toEqual(money(m.cost));
        expect([line.calls, line.unpricedCalls, line.promptTokens, line.completionTokens]).toEqual([m.calls, m.unpriced, m.prompt, m.completion]);
        expect(line.share).toBeCloseTo(Number(m.cost) / Number(t.cost), 12);
      }
      const costs = body.byModel.map((l: { cost: { cents: string } }) => centsToNano(l.cost.cents));
      expect([...costs].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))).toEqual(costs);
      const byProvider = groupBy(rows, (r) => r.provider);
      expect(body.byProvider.map((p: { provider: string }) => p.provider).sort()).toEqual([...byProvider.keys()].sort());
      for (const line of body.byProvider) expect(line.cost).toEqual(money(llmTotals(byProvider.get(line.provider)!).cost));
    });

    it('GET token-usage?hours=24: prompt, completion and total tokens, overall and by provider/model', async () => {
      if (!live()) return;
      const body = await ok('/api/analytics/token-usage?hours=24');
      const rows = lastDay().llm;
      const t = llmTotals(rows);
      expect(body.totals).toEqual({
        calls: t.calls,
        promptTokens: t.prompt,
        completionTokens: t.completion,
        totalTokens: t.prompt + t.completion,
        cachedTokens: t.cached,
        reasoningTokens: t.reasoning,
      });
      const byModel = groupBy(rows, (r) => `${r.provider}/${r.model}`);
      for (const line of body.byModel) {
        const m = llmTotals(byModel.get(`${line.provider}/${line.model}`)!);
        expect(line.totalTokens).toBe(m.prompt + m.completion);
        expect(line.promptTokens).toBe(m.prompt);
      }
      const byProvider = groupBy(rows, (r) => r.provider);
      for (const line of body.byProvider) expect(line.completionTokens).toBe(llmTotals(byProvider.get(line.provider)!).completion);
    });

    it('a range crossing midnight with both ends inside hours: costs and tokens to the nano-cent, with filters', async () => {
      if (!live()) return;
      const rows = nightRange().llm;
      const body = await ok(`/api/analytics/costs?from=${NIGHT_FROM}&to=${NIGHT_TO}`);
      expect(body.range).toEqual({ from: NIGHT_FROM, to: '2025-03-02T01:45:00.000Z' });
      expect(body.source).toEqual({
        rollup: { from: '2025-03-01T23:00:00.000Z', to: '2025-03-02T01:00:00.000Z' },
        raw: [
          { from: NIGHT_FROM, to: '2025-03-01T23:00:00.000Z' },
          { from: '2025-03-02T01:00:00.000Z', to: '2025-03-02T01:45:00.000Z' },
        ],
      });
      expect(body.total).toEqual(money(llmTotals(rows).cost));
      const filtered = rows.filter((r) => r.provider === 'openai' && r.tenant_id === 'acme');
      const f = await ok(`/api/analytics/costs?from=${NIGHT_FROM}&to=${NIGHT_TO}&provider=openai&tenant_id=acme`);
      expect(f.total).toEqual(money(llmTotals(filtered).cost));
      expect(f.calls).toBe(filtered.length);
      expect(f.byProvider.map((p: { provider: string }) => p.provider)).toEqual(['openai']);
      const byAgent = rows.filter((r) => r.agent_id === 'coder' && r.model === 'gpt-4o-mini');
      const t = await ok(`/api/analytics/token-usage?from=${NIGHT_FROM}&to=${NIGHT_TO}&agent_id=coder&model=gpt-4o-mini`);
      expect(t.totals.promptTokens).toBe(llmTotals(byAgent).prompt);
      // An offset in the query ("+01:00", or a space where an unencoded "+" was decoded).
      const shifted = await ok('/api/analytics/costs?from=2025-03-01T23:30:15.250+01:00&to=2025-03-02T02:45:00%2B01:00');
      expect(shifted.total).toEqual(body.total);
      const spaced = await ok('/api/analytics/costs?from=2025-03-01T23:30:15.250+01:00&to=2025-03-02T02:45:00+01:00');
      expect(spaced.total).toEqual(body.total);
    });

    it('GET timeseries: zero-filled UTC buckets; day buckets split at midnight; points sum to the total', async () => {
      if (!live()) return;
      const rows = nightRange().llm;
      const day = await ok(`/api/analytics/timeseries?metric=cost&bucket=day&from=${NIGHT_FROM}&to=${NIGHT_TO}`);
      const beforeMidnight = rows.filter((r) => r.timestamp < new Date('2025-03-02T00:00:00Z'));
      const afterMidnight = rows.filter((r) => r.timestamp >= new Date('2025-03-02T00:00:00Z'));
      expect(day.unit).toBe('cents');
      expect(day.points).toEqual([
        { start: '2025-03-01T00:00:00.000Z', exact: formatCents(llmTotals(beforeMidnight).cost), value: Number(formatCents(llmTotals(beforeMidnight).cost)) },
        { start: '2025-03-02T00:00:00.000Z', exact: formatCents(llmTotals(afterMidnight).cost), value: Number(formatCents(llmTotals(afterMidnight).cost)) },
      ]);
      expect(day.total.exact).toBe(formatCents(llmTotals(rows).cost));

      const hourly = await ok(`/api/analytics/timeseries?metric=calls&from=${NIGHT_FROM}&to=${NIGHT_TO}`);
      expect(hourly.bucket).toBe('hour');
      expect(hourly.points.map((p: { start: string }) => p.start)).toEqual([
        '2025-03-01T22:00:00.000Z',
        '2025-03-01T23:00:00.000Z',
        '2025-03-02T00:00:00.000Z',
        '2025-03-02T01:00:00.000Z',
      ]);
      for (const p of hourly.points) {
        const start = new Date(p.start).getTime();
        expect(p.value).toBe(rows.filter((r) => floorHour(r.timestamp.getTime()) === start).length);
      }
      // Zero-filled: the hours before the night workload have no rows.
      const empty = await ok('/api/analytics/timeseries?metric=tokens&from=2025-03-01T10:00:00Z&to=2025-03-01T14:00:00Z');
      expect(empty.points).toEqual([
        { start: '2025-03-01T10:00:00.000Z', value: 0, exact: '0' },
        { start: '2025-03-01T11:00:00.000Z', value: 0, exact: '0' },
        { start: '2025-03-01T12:00:00.000Z', value: 0, exact: '0' },
        { start: '2025-03-01T13:00:00.000Z', value: 0, exact: '0' },
      ]);
    });

    it('GET timeseries?hours=24: every hourly point (tokens, errors) equals the raw rows, current partial hour included', async () => {
      if (!live()) return;
      const tokens = await ok('/api/analytics/timeseries?metric=tokens&bucket=hour&hours=24');
      const errors = await ok('/api/analytics/timeseries?metric=errors&hours=24');
      const rows = lastDay().llm;
      expect(tokens.points).toHaveLength(25);
      const currentStart = new Date(floorHour(Date.now())).toISOString();
      expect(tokens.points[24].start).toBe(currentStart);
      for (const p of tokens.points) {
        const inBucket = rows.filter((r) => floorHour(r.timestamp.getTime()) === new Date(p.start).getTime());
        const t = llmTotals(inBucket);
        expect(p.value).toBe(t.prompt + t.completion);
      }
      expect(tokens.points[24].value).toBeGreaterThan(0);
      for (const p of errors.points) {
        const inBucket = rows.filter((r) => floorHour(r.timestamp.getTime()) === new Date(p.start).getTime());
        expect(p.value).toBe(llmTotals(inBucket).failures);
      }
      expect(errors.total.value).toBe(llmTotals(rows).failures);
    });

    it('GET agent-success-rate: counts and latency for one agent and all; exact percentiles on an all-raw range', async () => {
      if (!live()) return;
      const rows = lastDay().agents;
      const all = await ok('/api/analytics/agent-success-rate?hours=24');
      expect({ ...all, range: undefined, source: undefined, agentId: undefined }).toEqual({
        ...agentOracle(rows, false),
        range: undefined,
        source: undefined,
        agentId: undefined,
      });
      expect(all.agentId).toBeNull();
      const one = await ok('/api/analytics/agent-success-rate?agent_id=planner&hours=24');
      expect(one.agentId).toBe('planner');
      const planner = agentOracle(rows.filter((r) => r.agent_id === 'planner'), false);
      expect(one.executions).toBe(planner.executions);
      expect(one.successRate).toBeCloseTo(planner.successRate!, 12);
      expect(one.latency).toEqual(planner.latency);
      // Inside one hour: no whole hour, the raw rows answer and percentiles are exact.
      const from = '2025-03-01T23:05:00Z';
      const to = '2025-03-01T23:55:00Z';
      const inHour = within(night.agents, (r) => r.timestamp, new Date(from), new Date(to));
      const exact = await ok(`/api/analytics/agent-success-rate?from=${from}&to=${to}`);
      expect(exact.source.rollup).toBeNull();
      expect(exact.latency).toEqual(agentOracle(inHour, true).latency);
      expect(exact.latency.percentiles).toBe('exact');
    });

    it('GET agents: leaderboard per (agent_id, agent_type) with sorting and limit', async () => {
      if (!live()) return;
      const rows = lastDay().agents;
      const body = await ok('/api/analytics/agents?hours=24');
      const groups = groupBy(rows, (r) => `${r.agent_id}/${r.agent_type}`);
      expect(body.count).toBe(groups.size);
      for (const a of body.agents) {
        const list = groups.get(`${a.agentId}/${a.agentType}`)!;
        const o = agentOracle(list, false);
        expect([a.executions, a.successes, a.failures]).toEqual([o.executions, o.successes, o.failures]);
        expect(a.latency).toEqual(o.latency);
        expect(a.cost).toEqual(money(list.reduce((s, r) => s + centsToNano(r.cost_cents), 0n)));
        expect(a.toolCalls).toBe(list.reduce((s, r) => s + r.tool_calls_count, 0));
      }
      const execs = body.agents.map((a: { executions: number }) => a.executions);
      expect([...execs].sort((x, y) => y - x)).toEqual(execs);
      const bySuccess = await ok('/api/analytics/agents?hours=24&sort=success_rate&order=asc&limit=2');
      expect(bySuccess.agents).toHaveLength(2);
      expect(bySuccess.agents[0].successRate).toBeLessThanOrEqual(bySuccess.agents[1].successRate);
      const byCost = await ok('/api/analytics/agents?hours=24&sort=cost');
      const nanos = byCost.agents.map((a: { cost: { cents: string } }) => centsToNano(a.cost.cents));
      expect([...nanos].sort((x, y) => (x > y ? -1 : x < y ? 1 : 0))).toEqual(nanos);
    });

    it('GET workflows: runs, status distribution, duration and steps per workflow and overall', async () => {
      if (!live()) return;
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
          tokensUsed: list.reduce((s, r) => s + r.tokens_used, 0),
          cost: money(list.reduce((s, r) => s + centsToNano(r.cost_cents), 0n)),
          duration: latencyOracle(durations, exact),
        });
        expect(stats['successRate']).toBeCloseTo(count('completed') / list.length, 12);
      };
      const rows = lastDay().workflows;
      const body = await ok('/api/analytics/workflows?hours=24');
      check(body.totals, rows, false);
      const groups = groupBy(rows, (r) => r.workflow_id);
      expect(body.count).toBe(groups.size);
      for (const w of body.workflows) check(w, groups.get(w.workflowId)!, false);
      const failed = await ok('/api/analytics/workflows?hours=24&status=failed&workflow_id=onboarding');
      check(failed.totals, rows.filter((r) => r.status === 'failed' && r.workflow_id === 'onboarding'), false);
      const nightRows = within(night.workflows, (r) => r.finished_at, new Date('2025-03-02T02:10:00Z'), new Date('2025-03-02T02:50:00Z'));
      const exact = await ok('/api/analytics/workflows?from=2025-03-02T02:10:00Z&to=2025-03-02T02:50:00Z');
      check(exact.totals, nightRows, true);
    });

    it('GET summary: the widget strip', async () => {
      if (!live()) return;
      const { llm, agents, workflows } = lastDay();
      const body = await ok('/api/analytics/summary?hours=24');
      const t = llmTotals(llm);
      const agentFailures = agents.filter((r) => r.success === false).length;
      expect(body).toMatchObject({
        agentExecutions: agents.length,
        agentFailures,
        llmCalls: t.calls,
        llmFailures: t.failures,
        promptTokens: t.prompt,
        completionTokens: t.completion,
        totalTokens: t.prompt + t.completion,
        cost: money(t.cost),
        unpricedCalls: t.unpriced,
        workflowRuns: workflows.length,
      });
      expect(body.successRate).toBeCloseTo((agents.length - agentFailures) / agents.length, 12);
      expect(body.errorRate).toBeCloseTo(t.failures / t.calls, 12);
      expect(body.workflowSuccessRate).toBeCloseTo(workflows.filter((w) => w.status === 'completed').length / workflows.length, 12);
      const acme = await ok(`/api/analytics/summary?from=${NIGHT_FROM}&to=${NIGHT_TO}&tenant_id=acme`);
      const n = nightRange();
      expect(acme.cost).toEqual(money(llmTotals(n.llm.filter((r) => r.tenant_id === 'acme')).cost));
      expect(acme.agentExecutions).toBe(n.agents.filter((r) => r.tenant_id === 'acme').length);
      expect(acme.workflowRuns).toBe(n.workflows.filter((r) => r.tenant_id === 'acme').length);
    });

    it('GET costs/by-tenant and costs/by-user: top N by cost, unattributed calls as null', async () => {
      if (!live()) return;
      const rows = lastDay().llm;
      const body = await ok('/api/analytics/costs/by-tenant?hours=24&limit=2');
      const tenants = [...groupBy(rows, (r) => r.tenant_id ?? '')].map(([id, list]) => ({ id: id || null, ...llmTotals(list) }));
      tenants.sort((a, b) => (a.cost > b.cost ? -1 : a.cost < b.cost ? 1 : 0));
      expect(body.count).toBe(tenants.length);
      expect(body.total).toEqual(money(llmTotals(rows).cost));
      expect(body.tenants.map((t: { tenantId: string | null; cost: unknown; calls: number }) => [t.tenantId, t.cost, t.calls])).toEqual(
        tenants.slice(0, 2).map((t) => [t.id, money(t.cost), t.calls]),
      );
      const users = await ok('/api/analytics/costs/by-user?hours=24&limit=1000&tenant_id=globex');
      const globex = rows.filter((r) => r.tenant_id === 'globex');
      const perUser = groupBy(globex, (r) => r.user_id ?? '');
      expect(users.count).toBe(perUser.size);
      for (const u of users.users) expect(u.cost).toEqual(money(llmTotals(perUser.get(u.userId ?? '')!).cost));
      expect(users.users.some((u: { userId: string | null }) => u.userId === null)).toBe(true);
    });

    it('gives the same figures whatever the rollups hold: none, all closed hours, or a lagging aggregator', async () => {
      if (!live()) return;
      const paths = [
        `/api/analytics/costs?from=${NIGHT_FROM}&to=${NIGHT_TO}`,
        '/api/analytics/token-usage?hours=30',
        `/api/analytics/summary?from=${NIGHT_FROM}&to=${NIGHT_TO}`,
        '/api/analytics/costs/by-user?hours=30&limit=50',
        `/api/analytics/timeseries?metric=cost&bucket=day&from=2025-03-01T19:30:00Z&to=2025-03-02T05:10:00Z`,
      ];
      const strip = (b: Record<string, unknown>) => ({ ...b, range: undefined, source: undefined });
      const answers = async () => Promise.all(paths.map(async (p) => strip(await ok(p))));
      const mixed = await answers();
      await dropRollups(db!.runner);
      const rawOnly = await answers();
      await buildRollupsUntil(db!.runner, new Date(floorHour(Date.now())));
      const allClosed = await answers();
      expect(rawOnly).toEqual(mixed);
      expect(allClosed).toEqual(mixed);
      const source = (await ok('/api/analytics/costs?hours=30')).source;
      expect(source.rollup.to).toBe(new Date(floorHour(Date.now())).toISOString());
    });

    it('answers 400 naming the parameter for every kind of bad input', async () => {
      if (!live()) return;
      const cases: Array<[string, string[]]> = [
        ['/costs?hours=0', ['hours must be an integer from 1 to 87600']],
        ['/costs?hours=87601', ['hours must be an integer from 1 to 87600']],
        ['/costs?hours=1.5', ['hours must be an integer from 1 to 87600']],
        ['/costs?hours=abc', ['hours must be an integer from 1 to 87600']],
        ['/costs?hours=', ['hours must be an integer from 1 to 87600']],
        ['/costs?hours=1e3', ['hours must be an integer from 1 to 87600']],
        ['/costs?hours=1&hours=2', ['hours must be an integer from 1 to 87600']],
        ['/costs/by-tenant?limit=0', ['limit must be an integer from 1 to 1000']],
        ['/costs/by-user?limit=1001', ['limit must be an integer from 1 to 1000']],
        ['/agents?limit=-1', ['limit must be an integer from 1 to 1000']],
        ['/workflows?limit=x', ['limit must be an integer from 1 to 1000']],
        ['/costs?from=yesterday', ['from must be an ISO 8601 date or date-time with a time zone (e.g. 2025-01-31 or 2025-01-31T00:00:00Z)']],
        ['/costs?from=2025-02-30', ['from must be an ISO 8601 date or date-time with a time zone (e.g. 2025-01-31 or 2025-01-31T00:00:00Z)']],
        ['/costs?from=2025-03-01T10:00:00', ['from must be an ISO 8601 date or date-time with a time zone (e.g. 2025-01-31 or 2025-01-31T00:00:00Z)']],
        ['/costs?to=2025-13-01', ['to must be an ISO 8601 date or date-time with a time zone (e.g. 2025-01-31 or 2025-01-31T00:00:00Z)']],
        ['/costs?from=2025-03-02&to=2025-03-01', ['from must be earlier than to']],
        ['/costs?from=2025-03-01T00:00:00Z&to=2025-03-01T00:00:00Z', ['from must be earlier than to']],
        ['/costs?from=2999-01-01', ['from must be earlier than now']],
        ['/costs?from=1990-01-01&to=2001-01-01', ['the range from..to must not exceed 87600 hours']],
        ['/costs?hours=24&from=2025-03-01', ['hours cannot be combined with from (give from/to, or hours with an optional to)']],
        ['/timeseries', ['metric must be one of: cost, tokens, calls, errors']],
        ['/timeseries?metric=latency', ['metric must be one of: cost, tokens, calls, errors']],
        ['/timeseries?metric=cost&bucket=week', ['bucket must be one of: hour, day']],
        ['/timeseries?metric=cost&bucket=hour&hours=87600', ['the range has 87601 hour buckets, more than 10000: use bucket=day or a shorter range']],
        ['/agents?sort=name', ['sort must be one of: executions, success_rate, latency, cost']],
        ['/agents?order=up', ['order must be one of: asc, desc']],
        ['/workflows?status=running', ['status must be one of: completed, failed, timeout']],
        ['/costs?provider=', ['provider must be a string of 1 to 200 characters without control characters']],
        ['/costs?model=a%00b', ['model must be a string of 1 to 200 characters without control characters']],
        [`/costs?tenant_id=${'x'.repeat(201)}`, ['tenant_id must be a string of 1 to 200 characters without control characters']],
        ['/costs?agent_id=a&agent_id=b', ['agent_id must be a string of 1 to 200 characters without control characters']],
        ['/costs?foo=1', ['property foo should not exist']],
        ['/agents?provider=openai', ['property provider should not exist']],
        ['/summary?agent_id=planner', ['property agent_id should not exist']],
        ['/costs?hours=0&bogus=1', ['property bogus should not exist', 'hours must be an integer from 1 to 87600']],
      ];
      for (const [path, message] of cases) {
        const res = await get(`/api/analytics${path}`);
        expect({ path, status: res.status, body: res.body }).toEqual({
          path,
          status: 400,
          body: { statusCode: 400, error: 'Bad Request', message },
        });
      }
    });

    it('binds every filter as a parameter: SQL in a filter value is data', async () => {
      if (!live()) return;
      const injection = encodeURIComponent("openai' OR '1'='1");
      const body = await ok(`/api/analytics/costs?hours=24&provider=${injection}`);
      expect(body.calls).toBe(0);
      expect(body.total.cents).toBe('0.000000000');
      const stillThere = await ok('/api/analytics/costs?hours=24');
      expect(stillThere.calls).toBe(lastDay().llm.length);
    });
  });
}
