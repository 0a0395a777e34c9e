import { BadRequestException, Logger, ServiceUnavailableException } from '@nestjs/common';
import { AGGREGATION_STATE_NAME } from '../aggregation/hourly-aggregator.service';
import { quantileFromLatencyBuckets } from '../latency-buckets';
import {
  keyedRows,
  mergeInto,
  runAggregate,
  type AggregateRequest,
  type AggregateRow,
  type AnalyticsSqlRunner,
  type LatencyAggregate,
} from './analytics-aggregate.query';
import {
  AGENT_EXECUTIONS,
  BY_MODEL_DIMENSIONS,
  BY_PRINCIPAL_DIMENSIONS,
  BY_PRINCIPAL_MEASURES,
  LLM_USAGE,
  LLM_USAGE_BY_MODEL,
  LLM_USAGE_BY_PRINCIPAL,
  WORKFLOW_RUNS,
  type FactTable,
  type LlmDimension,
  type LlmMeasure,
} from './analytics-fact-tables';
import { moneyFromNano, formatNanoAsCents } from './analytics-money';
import { AnalyticsQueryCache } from './analytics-query.cache';
import { RollupHourCache } from './analytics-rollup-hour.cache';
import { DAY_MS, HOUR_MS, planRange, resolveRange, type RangePlan, type TimeRange } from './analytics-range';
import type {
  AgentsQueryDto,
  AgentSuccessRateQueryDto,
  CostsQueryDto,
  LlmFiltersQueryDto,
  SummaryQueryDto,
  TimeseriesQueryDto,
  TokenUsageQueryDto,
  TopCostsQueryDto,
  WorkflowsQueryDto,
} from './dto/analytics-query.dto';
import type {
  AgentLineDto,
  AgentsResponseDto,
  AgentSuccessRateResponseDto,
  CostLineDto,
  CostsByTenantResponseDto,
  CostsByUserResponseDto,
  CostsResponseDto,
  LatencyStatsDto,
  ModelCostDto,
  ModelTokenUsageDto,
  ProviderCostDto,
  ProviderTokenUsageDto,
  ReportSourceDto,
  SummaryResponseDto,
  TimeRangeDto,
  TimeseriesResponseDto,
  TokenCountsDto,
  TokenUsageResponseDto,
  WorkflowLineDto,
  WorkflowsResponseDto,
  WorkflowStatsDto,
} from './dto/analytics-response.dto';

/** Most points a time series may have; longer ranges must use a larger bucket. */
export const MAX_SERIES_POINTS = 10_000;

/** Settings of the query service. */
export interface AnalyticsQueryServiceOptions {
  /**
   * Most rollup result rows kept in memory (see `RollupHourCache`); 0 disables every cache.
   * Default 50,000.
   */
  cacheSize?: number;
  /** Closed hours the aggregator rebuilds on every run (`analyticsAggregationLookbackHours`). Default 3. */
  lookbackHours?: number;
  /** Clock, for tests. */
  now?: () => Date;
}

/** How far the aggregator has rolled up one table. */
interface RollupCoverage {
  /** Rollups are complete for every hour before this instant (exclusive). */
  until: Date;
  /** Changes whenever the aggregator writes: keys cached rollup results. */
  stamp: string;
}

interface CoverageMap {
  jobs: Map<string, RollupCoverage>;
  /**
   * First hour of `llm_usage_hourly_by_model` (null: empty). Hours before it (rolled up before
   * that table existed) are read from `llm_usage_hourly`.
   */
  byModelFrom: Date | null;
  /** First hour of `llm_usage_hourly_by_principal` (null: empty); same rule as `byModelFrom`. */
  byPrincipalFrom: Date | null;
}

/**
 * A rollup of `llm_usage` narrower than `llm_usage_hourly`, usable for the whole hours from
 * `from` on by LLM reports that group and filter only by `dimensions`, ask only for `measures`
 * and (unless `latency`) no latency.
 */
interface NarrowLlmRollup {
  table: FactTable<LlmDimension, LlmMeasure>;
  dimensions: readonly string[];
  measures: readonly string[] | 'all';
  latency: boolean;
  from: Date | null;
}
type Row<D extends string, M extends string> = AggregateRow<D, M>;

const num = (v: bigint): number => Number(v);
const ratio = (part: bigint, whole: bigint): number | null => (whole === 0n ? null : Number(part) / Number(whole));
const round3 = (v: number): number => Math.round(v * 1000) / 1000;

function iso(range: TimeRange): TimeRangeDto {
  return { from: range.from.toISOString(), to: range.to.toISOString() };
}

function sourceOf(plan: RangePlan): ReportSourceDto {
  return { rollup: plan.rollup ? iso(plan.rollup) : null, raw: plan.raw.map(iso) };
}

/** Turns a merged latency distribution into statistics (exact or interpolated percentiles). */
export function latencyStats(latency: LatencyAggregate | undefined): LatencyStatsDto {
  if (!latency || latency.count === 0n) {
    return { count: 0, avgMs: null, p50Ms: null, p95Ms: null, maxMs: null, percentiles: null };
  }
  const avgMs = round3(Number(latency.sumMs) / Number(latency.count));
  if (latency.exact) {
    const { p50, p95 } = latency.exact;
    return {
      count: num(latency.count),
      avgMs,
      p50Ms: p50 === null ? null : round3(p50),
      p95Ms: p95 === null ? null : round3(p95),
      maxMs: latency.maxMs,
      percentiles: 'exact',
    };
  }
  const max = latency.maxMs ?? undefined;
  const p50 = quantileFromLatencyBuckets(latency.buckets, 0.5, max);
  const p95 = quantileFromLatencyBuckets(latency.buckets, 0.95, max);
  return {
    count: num(latency.count),
    avgMs,
    p50Ms: p50 === null ? null : round3(p50),
    p95Ms: p95 === null ? null : round3(p95),
    maxMs: latency.maxMs,
    percentiles: 'interpolated',
  };
}

function llmFilters(q: LlmFiltersQueryDto): Partial<Record<LlmDimension, string>> {
  return {
    provider: q.provider,
    model: q.model,
    agent_id: q.agent_id,
    workflow_id: q.workflow_id,
    tenant_id: q.tenant_id,
    user_id: q.user_id,
  };
}

/** Deterministic order: by a numeric score, then by the given text keys. */
function byScoreThenKeys<T>(score: (t: T) => number, keys: (t: T) => string, desc = true) {
  return (a: T, b: T): number => {
    const d = desc ? score(b) - score(a) : score(a) - score(b);
    if (d !== 0 && !Number.isNaN(d)) return d;
    const ka = keys(a);
    const kb = keys(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

const COST_MEASURES = ['calls', 'unpriced_calls', 'usage_missing_calls', 'prompt_tokens', 'completion_tokens', 'cost'] as const;
type CostMeasure = (typeof COST_MEASURES)[number];

function costLine(values: Record<CostMeasure, bigint>, totalNano: bigint): CostLineDto {
  return {
    cost: moneyFromNano(values.cost),
    calls: num(values.calls),
    unpricedCalls: num(values.unpriced_calls),
    usageMissingCalls: num(values.usage_missing_calls),
    promptTokens: num(values.prompt_tokens),
    completionTokens: num(values.completion_tokens),
    share: ratio(values.cost, totalNano),
  };
}

function sumValues<M extends string>(rows: { values: Record<M, bigint> }[], measures: readonly M[]): Record<M, bigint> {
  const total = {} as Record<M, bigint>;
  for (const m of measures) total[m] = 0n;
  for (const row of rows) for (const m of measures) total[m] += row.values[m];
  return total;
}

/**
 * Answers the analytics reports from PostgreSQL. Each report splits its range into whole hours
 * the aggregator has closed (read from the hourly rollups) and everything else (read from the raw
 * rows: the partial hours at both ends, hours not rolled up yet, the current hour), so figures
 * are exact and long ranges stay fast. Works on any `AnalyticsSqlRunner` (a TypeORM
 * `DataSource`); without one every report answers 503.
 */
export class AnalyticsQueryService {
  private readonly logger = new Logger('AnalyticsApi');
  private readonly cache: AnalyticsQueryCache<Record<string, string | null>[]>;
  private readonly hourCache: RollupHourCache;
  private readonly now: () => Date;

  constructor(
    private readonly runner: AnalyticsSqlRunner | null,
    options: AnalyticsQueryServiceOptions = {},
  ) {
    const cacheSize = options.cacheSize ?? 50_000;
    this.hourCache = new RollupHourCache(cacheSize, options.lookbackHours ?? 3);
    // Whole-span results of reports by tenant or user: a few dozen spans.
    this.cache = new AnalyticsQueryCache(cacheSize > 0 ? 64 : 0);
    this.now = options.now ?? (() => new Date());
  }

  /** Forgets cached rollup results (they also expire by themselves when the aggregator runs). */
  clearCache(): void {
    this.cache.clear();
    this.hourCache.clear();
  }

  // ----- reports -------------------------------------------------------------------------------

  /** Prompt, completion and total tokens, overall and by provider / model. */
  async tokenUsage(q: TokenUsageQueryDto): Promise<TokenUsageResponseDto> {
    const measures = ['calls', 'prompt_tokens', 'completion_tokens', 'cached_tokens', 'reasoning_tokens'] as const;
    const { plan, rows } = await this.llmAggregate(q, ['provider', 'model'], measures);
    const counts = (v: Record<(typeof measures)[number], bigint>): TokenCountsDto => ({
      calls: num(v.calls),
      promptTokens: num(v.prompt_tokens),
      completionTokens: num(v.completion_tokens),
      totalTokens: num(v.prompt_tokens + v.completion_tokens),
      cachedTokens: num(v.cached_tokens),
      reasoningTokens: num(v.reasoning_tokens),
    });
    const byModel: ModelTokenUsageDto[] = rows
      .map((r) => ({ provider: r.keys.provider ?? '', model: r.keys.model ?? '', ...counts(r.values) }))
      .sort(byScoreThenKeys((r) => r.totalTokens, (r) => `${r.provider}\u0000${r.model}`));
    const providers = new Map<string, Row<LlmDimension, (typeof measures)[number]>[]>();
    for (const r of rows) {
      const p = r.keys.provider ?? '';
      providers.set(p, [...(providers.get(p) ?? []), r]);
    }
    const byProvider: ProviderTokenUsageDto[] = [...providers]
      .map(([provider, list]) => ({ provider, ...counts(sumValues(list, measures)) }))
      .sort(byScoreThenKeys((r) => r.totalTokens, (r) => r.provider));
    return { range: iso(plan), source: sourceOf(plan), totals: counts(sumValues(rows, measures)), byProvider, byModel };
  }

  /** Total cost and its breakdown by provider and model. */
  async costs(q: CostsQueryDto): Promise<CostsResponseDto> {
    const { plan, rows } = await this.llmAggregate(q, ['provider', 'model'], COST_MEASURES);
    const total = sumValues(rows, COST_MEASURES);
    const byModel: ModelCostDto[] = rows
      .map((r) => ({ provider: r.keys.provider ?? '', model: r.keys.model ?? '', ...costLine(r.values, total.cost) }))
      .sort(byCost((r) => `${r.provider}\u0000${r.model}`));
    const providers = new Map<string, Row<LlmDimension, CostMeasure>[]>();
    for (const r of rows) {
      const p = r.keys.provider ?? '';
      providers.set(p, [...(providers.get(p) ?? []), r]);
    }
    const byProvider: ProviderCostDto[] = [...providers]
      .map(([provider, list]) => ({ provider, ...costLine(sumValues(list, COST_MEASURES), total.cost) }))
      .sort(byCost((r) => r.provider));
    return {
      range: iso(plan),
      source: sourceOf(plan),
      total: moneyFromNano(total.cost),
      calls: num(total.calls),
      unpricedCalls: num(total.unpriced_calls),
      usageMissingCalls: num(total.usage_missing_calls),
      byProvider,
      byModel,
    };
  }

  /** Cost per tenant, highest first (for customer billing). */
  async costsByTenant(q: TopCostsQueryDto): Promise<CostsByTenantResponseDto> {
    const { plan, total, lines, count } = await this.costsBy('tenant_id', q);
    return {
      range: iso(plan),
      source: sourceOf(plan),
      total,
      count,
      tenants: lines.map(({ id, line }) => ({ tenantId: id, ...line })),
    };
  }

  /** Cost per user, highest first. */
  async costsByUser(q: TopCostsQueryDto): Promise<CostsByUserResponseDto> {
    const { plan, total, lines, count } = await this.costsBy('user_id', q);
    return {
      range: iso(plan),
      source: sourceOf(plan),
      total,
      count,
      users: lines.map(({ id, line }) => ({ userId: id, ...line })),
    };
  }

  /** Executions, successes, failures, success rate and latency of one agent (or all). */
  async agentSuccessRate(q: AgentSuccessRateQueryDto): Promise<AgentSuccessRateResponseDto> {
    const range = this.range(q);
    const coverage = await this.coverage();
    const { plan, rows } = await this.aggregate(coverage, range, {
      table: AGENT_EXECUTIONS,
      groupBy: [],
      filters: { agent_id: q.agent_id, agent_type: q.agent_type, workflow_id: q.workflow_id, tenant_id: q.tenant_id },
      measures: ['executions', 'failures'],
      latency: true,
    });
    const v = sumValues(rows, ['executions', 'failures'] as const);
    return {
      range: iso(plan),
      source: sourceOf(plan),
      agentId: q.agent_id ?? null,
      executions: num(v.executions),
      successes: num(v.executions - v.failures),
      failures: num(v.failures),
      successRate: ratio(v.executions - v.failures, v.executions),
      latency: latencyStats(rows[0]?.latency),
    };
  }

  /** The agent leaderboard. */
  async agents(q: AgentsQueryDto): Promise<AgentsResponseDto> {
    const range = this.range(q);
    const coverage = await this.coverage();
    const measures = ['executions', 'failures', 'llm_calls', 'tool_calls', 'tokens_used', 'cost'] as const;
    const { plan, rows } = await this.aggregate(coverage, range, {
      table: AGENT_EXECUTIONS,
      groupBy: ['agent_id', 'agent_type'],
      filters: { agent_type: q.agent_type, workflow_id: q.workflow_id, tenant_id: q.tenant_id },
      measures,
      latency: true,
    });
    const lines: AgentLineDto[] = rows.map((r) => ({
      agentId: r.keys.agent_id ?? '',
      agentType: r.keys.agent_type ?? '',
      executions: num(r.values.executions),
      successes: num(r.values.executions - r.values.failures),
      failures: num(r.values.failures),
      successRate: ratio(r.values.executions - r.values.failures, r.values.executions),
      latency: latencyStats(r.latency),
      llmCalls: num(r.values.llm_calls),
      toolCalls: num(r.values.tool_calls),
      tokensUsed: num(r.values.tokens_used),
      cost: moneyFromNano(r.values.cost),
    }));
    const sort = q.sort ?? 'executions';
    const order = q.order ?? 'desc';
    const nano = new Map(rows.map((r, i) => [lines[i]!, r.values.cost]));
    const score: Record<typeof sort, (l: AgentLineDto) => number> = {
      executions: (l) => l.executions,
      success_rate: (l) => l.successRate ?? -1,
      latency: (l) => l.latency.p95Ms ?? -1,
      cost: (l) => Number(nano.get(l) ?? 0n),
    };
    const keys = (l: AgentLineDto) => `${l.agentId}\u0000${l.agentType}`;
    lines.sort(
      sort === 'cost'
        ? (a, b) => {
            const d = (nano.get(a) ?? 0n) - (nano.get(b) ?? 0n);
            if (d !== 0n) return (d > 0n ? 1 : -1) * (order === 'desc' ? -1 : 1);
            return keys(a) < keys(b) ? -1 : keys(a) > keys(b) ? 1 : 0;
          }
        : byScoreThenKeys(score[sort], keys, order === 'desc'),
    );
    return {
      range: iso(plan),
      source: sourceOf(plan),
      sort,
      order,
      count: lines.length,
      agents: lines.slice(0, q.limit ?? 100),
    };
  }

  /** Workflow runs: status distribution, duration, steps, per workflow and overall. */
  async workflows(q: WorkflowsQueryDto): Promise<WorkflowsResponseDto> {
    const range = this.range(q);
    const coverage = await this.coverage();
    const measures = ['runs', 'steps_executed', 'steps_failed', 'llm_calls', 'tokens_used', 'cost'] as const;
    const filters = { workflow_id: q.workflow_id, tenant_id: q.tenant_id, status: q.status };
    // Three aggregations, because exact percentiles of a workflow cannot be combined from
    // percentiles per status, nor the overall ones from percentiles per workflow.
    const [perWorkflow, perStatus, overall] = await Promise.all([
      this.aggregate(coverage, range, { table: WORKFLOW_RUNS, groupBy: ['workflow_id'], filters, measures, latency: true }),
      this.aggregate(coverage, range, { table: WORKFLOW_RUNS, groupBy: ['workflow_id', 'status'], filters, measures: ['runs'] }),
      this.aggregate(coverage, range, { table: WORKFLOW_RUNS, groupBy: [], filters, measures, latency: true }),
    ]);
    const statusCounts = new Map<string, { completed: bigint; failed: bigint; timeout: bigint }>();
    const overallStatus = { completed: 0n, failed: 0n, timeout: 0n };
    for (const r of perStatus.rows) {
      const id = r.keys.workflow_id ?? '';
      const counts = statusCounts.get(id) ?? { completed: 0n, failed: 0n, timeout: 0n };
      const status = r.keys.status;
      if (status === 'completed' || status === 'failed' || status === 'timeout') {
        counts[status] += r.values.runs;
        overallStatus[status] += r.values.runs;
      }
      statusCounts.set(id, counts);
    }
    const stats = (
      v: Record<(typeof measures)[number], bigint>,
      status: { completed: bigint; failed: bigint; timeout: bigint },
      latency: LatencyAggregate | undefined,
    ): WorkflowStatsDto => ({
      runs: num(v.runs),
      completed: num(status.completed),
      failed: num(status.failed),
      timeout: num(status.timeout),
      successRate: ratio(status.completed, v.runs),
      duration: latencyStats(latency),
      stepsExecuted: num(v.steps_executed),
      stepsFailed: num(v.steps_failed),
      avgStepsPerRun: v.runs === 0n ? null : round3(Number(v.steps_executed) / Number(v.runs)),
      llmCalls: num(v.llm_calls),
      tokensUsed: num(v.tokens_used),
      cost: moneyFromNano(v.cost),
    });
    const none = { completed: 0n, failed: 0n, timeout: 0n };
    const workflows: WorkflowLineDto[] = perWorkflow.rows
      .map((r) => ({
        workflowId: r.keys.workflow_id ?? '',
        ...stats(r.values, statusCounts.get(r.keys.workflow_id ?? '') ?? none, r.latency),
      }))
      .sort(byScoreThenKeys((w) => w.runs, (w) => w.workflowId));
    const totalValues = sumValues(overall.rows, measures);
    return {
      range: iso(overall.plan),
      source: sourceOf(overall.plan),
      totals: stats(totalValues, overallStatus, overall.rows[0]?.latency),
      count: workflows.length,
      workflows: workflows.slice(0, q.limit ?? 100),
    };
  }

  /** The widget strip: success rate, tokens, cost, calls and error rate of a range. */
  async summary(q: SummaryQueryDto): Promise<SummaryResponseDto> {
    const range = this.range(q);
    const coverage = await this.coverage();
    const llmMeasures = [
      'calls',
      'failures',
      'prompt_tokens',
      'completion_tokens',
      'cost',
      'unpriced_calls',
      'usage_missing_calls',
    ] as const;
    const [llm, agents, workflows] = await Promise.all([
      this.aggregate(coverage, range, {
        table: LLM_USAGE,
        groupBy: [],
        filters: { workflow_id: q.workflow_id, tenant_id: q.tenant_id },
        measures: llmMeasures,
      }),
      this.aggregate(coverage, range, {
        table: AGENT_EXECUTIONS,
        groupBy: [],
        filters: { workflow_id: q.workflow_id, tenant_id: q.tenant_id },
        measures: ['executions', 'failures'],
      }),
      this.aggregate(coverage, range, {
        table: WORKFLOW_RUNS,
        groupBy: ['status'],
        filters: { workflow_id: q.workflow_id, tenant_id: q.tenant_id },
        measures: ['runs'],
      }),
    ]);
    const l = sumValues(llm.rows, llmMeasures);
    const a = sumValues(agents.rows, ['executions', 'failures'] as const);
    const runs = sumValues(workflows.rows, ['runs'] as const).runs;
    const completed = sumValues(
      workflows.rows.filter((r) => r.keys.status === 'completed'),
      ['runs'] as const,
    ).runs;
    return {
      range: iso(range),
      successRate: ratio(a.executions - a.failures, a.executions),
      agentExecutions: num(a.executions),
      agentFailures: num(a.failures),
      llmCalls: num(l.calls),
      llmFailures: num(l.failures),
      errorRate: ratio(l.failures, l.calls),
      promptTokens: num(l.prompt_tokens),
      completionTokens: num(l.completion_tokens),
      totalTokens: num(l.prompt_tokens + l.completion_tokens),
      cost: moneyFromNano(l.cost),
      unpricedCalls: num(l.unpriced_calls),
      usageMissingCalls: num(l.usage_missing_calls),
      workflowRuns: num(runs),
      workflowSuccessRate: ratio(completed, runs),
    };
  }

  /** A zero-filled time series of cost, tokens, calls or errors of LLM calls. */
  async timeseries(q: TimeseriesQueryDto): Promise<TimeseriesResponseDto> {
    const range = this.range(q);
    const bucket = q.bucket ?? 'hour';
    const size = bucket === 'hour' ? HOUR_MS : DAY_MS;
    const first = Math.floor(range.from.getTime() / size) * size;
    const pointCount = Math.ceil((range.to.getTime() - first) / size);
    if (pointCount > MAX_SERIES_POINTS) {
      throw new BadRequestException(
        `the range has ${pointCount} ${bucket} buckets, more than ${MAX_SERIES_POINTS}: use bucket=day or a shorter range`,
      );
    }
    const coverage = await this.coverage();
    const measures =
      q.metric === 'cost'
        ? (['cost'] as const)
        : q.metric === 'tokens'
          ? (['prompt_tokens', 'completion_tokens'] as const)
          : q.metric === 'calls'
            ? (['calls'] as const)
            : (['failures'] as const);
    const { plan, rows } = await this.aggregate(coverage, range, {
      table: LLM_USAGE,
      groupBy: [],
      timeBucket: bucket,
      filters: llmFilters(q),
      measures,
    });
    const value = (r: Row<LlmDimension, string>): bigint =>
      (measures as readonly string[]).reduce((s, m) => s + (r.values[m] ?? 0n), 0n);
    const byStart = new Map(rows.map((r) => [r.bucketStart ?? 0, value(r)]));
    const format = (v: bigint) => (q.metric === 'cost' ? formatNanoAsCents(v) : v.toString());
    const points = [];
    let total = 0n;
    for (let i = 0; i < pointCount; i++) {
      const start = first + i * size;
      const v = byStart.get(start) ?? 0n;
      total += v;
      const exact = format(v);
      points.push({ start: new Date(start).toISOString(), value: Number(exact), exact });
    }
    const totalExact = format(total);
    return {
      range: iso(plan),
      source: sourceOf(plan),
      metric: q.metric,
      bucket,
      unit: q.metric === 'cost' ? 'cents' : q.metric === 'tokens' ? 'tokens' : 'calls',
      total: { value: Number(totalExact), exact: totalExact },
      points,
    };
  }

  // ----- plumbing ------------------------------------------------------------------------------

  private range(q: { hours?: number; from?: string; to?: string }): TimeRange {
    return resolveRange(q, this.now());
  }

  private async costsBy(dimension: 'tenant_id' | 'user_id', q: TopCostsQueryDto) {
    const { plan, rows } = await this.llmAggregate(q, [dimension], COST_MEASURES);
    const total = sumValues(rows, COST_MEASURES);
    const lines = rows
      .map((r) => ({ id: r.keys[dimension], nano: r.values.cost, line: costLine(r.values, total.cost) }))
      .sort((a, b) => {
        if (a.nano !== b.nano) return a.nano > b.nano ? -1 : 1;
        if (a.line.calls !== b.line.calls) return b.line.calls - a.line.calls;
        // The unattributed group (null) sorts after named ids on ties.
        const ka = a.id ?? '\uffff';
        const kb = b.id ?? '\uffff';
        return ka < kb ? -1 : ka > kb ? 1 : 0;
      });
    return { plan, total: moneyFromNano(total.cost), count: lines.length, lines: lines.slice(0, q.limit ?? 10) };
  }

  private async llmAggregate<M extends LlmMeasure>(
    q: LlmFiltersQueryDto,
    groupBy: LlmDimension[],
    measures: readonly M[],
  ) {
    const range = this.range(q);
    const coverage = await this.coverage();
    return this.aggregate(coverage, range, { table: LLM_USAGE, groupBy, filters: llmFilters(q), measures });
  }

  private async aggregate<D extends string, M extends string>(
    coverage: CoverageMap,
    range: TimeRange,
    request: Omit<AggregateRequest<D, M>, 'plan'> & { table: FactTable<D, M> },
  ): Promise<{ plan: RangePlan; rows: Row<D, M>[] }> {
    const rollup = coverage.jobs.get(request.table.aggregationJob);
    const plan = planRange(range, rollup?.until ?? null);
    const runner = this.database();
    const caches = rollup
      ? { hourly: this.hourCache, whole: { store: this.cache, rollupStamp: `${request.table.rollupTable}@${rollup.stamp}` } }
      : {};
    const narrow = narrowRollupFor(coverage, request, plan);
    if (!narrow || plan.rollup === null) {
      return { plan, rows: await runAggregate(runner, { ...request, plan }, caches) };
    }
    // Whole hours from the narrow rollup where it exists; earlier hours (rolled up before it was
    // added) from the full rollup, together with the raw pieces.
    const split = new Date(Math.max(plan.rollup.from.getTime(), narrow.from));
    const narrowPart = runAggregate(
      runner,
      {
        ...request,
        table: narrow.table as unknown as FactTable<D, M>,
        plan: { ...plan, rollup: { from: split, to: plan.rollup.to }, raw: [] },
        exactPercentiles: false,
      },
      caches,
    );
    const fullRollup = split.getTime() > plan.rollup.from.getTime() ? { from: plan.rollup.from, to: split } : null;
    const restPart =
      fullRollup !== null || plan.raw.length > 0
        ? runAggregate(runner, { ...request, plan: { ...plan, rollup: fullRollup }, exactPercentiles: false }, caches)
        : Promise.resolve([]);
    const [a, b] = await Promise.all([narrowPart, restPart]);
    const merged = keyedRows(request, a);
    mergeInto(merged, keyedRows(request, b), request.measures);
    return { plan, rows: [...merged.values()] };
  }

  /**
   * Reads the aggregator's progress (rollups are complete up to the end of `last_closed_hour`)
   * and where the per-model and per-principal rollups start.
   */
  private async coverage(): Promise<CoverageMap> {
    const rows = (await this.database().query(
      `SELECT "name", (extract(epoch from "last_closed_hour") * 1000)::bigint::text AS "closed",
              (extract(epoch from "updated_at") * 1000)::bigint::text AS "updated",
              (SELECT (extract(epoch from min("hour")) * 1000)::bigint::text FROM "llm_usage_hourly_by_model") AS "by_model_from",
              (SELECT (extract(epoch from min("hour")) * 1000)::bigint::text FROM "llm_usage_hourly_by_principal") AS "by_principal_from"
         FROM "analytics_aggregation_state" WHERE "last_closed_hour" IS NOT NULL`,
    )) as {
      name: string;
      closed: string;
      updated: string | null;
      by_model_from: string | null;
      by_principal_from: string | null;
    }[];
    const jobs = new Map<string, RollupCoverage>();
    for (const row of rows) {
      jobs.set(row.name, { until: new Date(Number(row.closed) + HOUR_MS), stamp: `${row.closed}/${row.updated ?? ''}` });
    }
    const job = rows.find((r) => r.name === AGGREGATION_STATE_NAME);
    this.hourCache.observe(job ? Number(job.closed) : null, job?.updated ? Number(job.updated) : null);
    const byModelFrom = job?.by_model_from ? new Date(Number(job.by_model_from)) : null;
    const byPrincipalFrom = job?.by_principal_from ? new Date(Number(job.by_principal_from)) : null;
    return { jobs, byModelFrom, byPrincipalFrom };
  }

  /** One read through the analytics connection, failing as the reports do (503) when it is unavailable. */
  read(sql: string, parameters?: unknown[]): Promise<unknown> {
    return this.database().query(sql, parameters);
  }

  /** The connection, with failures turned into 503 answers (details go to the log only). */
  private database(): AnalyticsSqlRunner {
    const runner = this.runner;
    if (!runner) throw new ServiceUnavailableException('analytics storage is disabled (analyticsEnabled: false)');
    return {
      query: async (sql, parameters) => {
        try {
          return await runner.query(sql, parameters);
        } catch (error) {
          // The answer and the log say the same thing; the log adds the driver's details.
          if ((error as Error | undefined)?.name === 'AnalyticsUnavailableError') {
            const message = (error as Error).message;
            this.logger.error(message);
            throw new ServiceUnavailableException(message);
          }
          const e = error as { message?: string; code?: string };
          this.logger.error(`analytics database query failed${e.code ? ` (${e.code})` : ''}: ${e.message ?? String(error)}`);
          throw new ServiceUnavailableException('analytics database query failed');
        }
      },
    };
  }
}

/**
 * The narrow LLM rollup a request can read instead of `llm_usage_hourly` (the first that fits, with
 * its first hour in epoch ms), or undefined. A rollup fits when the request is on `LLM_USAGE`, has
 * a rollup part that reaches past the rollup's first hour, and uses only the rollup's dimensions,
 * measures and (if asked) latency.
 */
function narrowRollupFor<D extends string, M extends string>(
  coverage: CoverageMap,
  request: Omit<AggregateRequest<D, M>, 'plan'> & { table: FactTable<D, M> },
  plan: RangePlan,
): { table: FactTable<LlmDimension, LlmMeasure>; from: number } | undefined {
  if ((request.table as FactTable<string, string>) !== LLM_USAGE || plan.rollup === null) return undefined;
  const candidates: NarrowLlmRollup[] = [
    { table: LLM_USAGE_BY_MODEL, dimensions: BY_MODEL_DIMENSIONS, measures: 'all', latency: true, from: coverage.byModelFrom },
    {
      table: LLM_USAGE_BY_PRINCIPAL,
      dimensions: BY_PRINCIPAL_DIMENSIONS,
      measures: BY_PRINCIPAL_MEASURES,
      latency: false,
      from: coverage.byPrincipalFrom,
    },
  ];
  const rollupEnd = plan.rollup.to.getTime();
  for (const c of candidates) {
    const from = c.from?.getTime();
    if (from === undefined || from >= rollupEnd) continue;
    if (request.latency && !c.latency) continue;
    if (!request.groupBy.every((d) => c.dimensions.includes(d))) continue;
    const filters = Object.entries(request.filters as Record<string, string | undefined>);
    if (!filters.every(([d, v]) => v === undefined || c.dimensions.includes(d))) continue;
    const measures = c.measures;
    if (measures !== 'all' && !request.measures.every((m) => measures.includes(m))) continue;
    return { table: c.table, from };
  }
  return undefined;
}

function byCost<T extends { cost: { cents: string } }>(keys: (t: T) => string) {
  return (a: T, b: T): number => {
    const na = BigInt(a.cost.cents.replace('.', ''));
    const nb = BigInt(b.cost.cents.replace('.', ''));
    if (na !== nb) return na > nb ? -1 : 1;
    const ka = keys(a);
    const kb = keys(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}
