import type { DataSource } from 'typeorm';
import {
  latencyBucketIndex,
  LATENCY_BUCKET_COUNT,
} from '../../src/monitoring/analytics/latency-buckets';

/**
 * An independent (JavaScript) computation of the hourly rollups from the raw rows, to compare
 * with what the aggregator's SQL produced. Money is compared in exact nano-cents (BigInt).
 */

/** `'12.500000001'` → 12500000001n nano-cents; null stays null. */
export function toNanoCents(value: string | null): bigint | null {
  if (value === null) return null;
  const negative = value.startsWith('-');
  const [whole = '0', fraction = ''] = value.replace('-', '').split('.');
  const nanos = BigInt(whole) * 1_000_000_000n + BigInt((fraction + '000000000').slice(0, 9));
  return negative ? -nanos : nanos;
}

const HOUR_MS = 3_600_000;
const hourOf = (d: Date) => new Date(Math.floor(d.getTime() / HOUR_MS) * HOUR_MS).toISOString();

type Totals = Record<string, bigint | number | null | number[]>;

function bump(
  map: Map<string, Totals>,
  key: string,
  init: () => Totals,
  apply: (t: Totals) => void,
): void {
  let t = map.get(key);
  if (!t) map.set(key, (t = init()));
  apply(t);
}

const buckets = () => new Array<number>(LATENCY_BUCKET_COUNT).fill(0);
const add = (t: Totals, k: string, v: number | bigint | null) => {
  if (v === null) return;
  t[k] = typeof v === 'bigint' ? (t[k] as bigint) + v : (t[k] as number) + v;
};
const max = (t: Totals, k: string, v: number | null) => {
  if (v === null) return;
  t[k] = t[k] === null ? v : Math.max(t[k] as number, v);
};
const bucket = (t: Totals, k: string, v: number | null) => {
  if (v !== null) (t[k] as number[])[latencyBucketIndex(v)]! += 1;
};

/** Rollups of [from, to) as the aggregator should have built them, keyed by table then PK. */
export async function expectedRollups(
  ds: DataSource,
  from: Date,
  to: Date,
): Promise<Record<string, Map<string, Totals>>> {
  const llm = new Map<string, Totals>();
  // The by-principal rollup is counted straight from the raw rows (not folded from `llm`).
  const byPrincipal = new Map<string, Totals>();
  for (const r of await ds.query(
    `SELECT "timestamp", provider, model, agent_id, workflow_id, tenant_id, user_id, success, prompt_tokens, completion_tokens,
            cached_tokens, reasoning_tokens, cost_cents::text AS cost, latency_ms, usage_missing FROM llm_usage WHERE "timestamp" >= $1 AND "timestamp" < $2`,
    [from, to],
  )) {
    const key = [
      hourOf(r.timestamp),
      r.provider,
      r.model,
      r.agent_id ?? '',
      r.workflow_id ?? '',
      r.tenant_id ?? '',
      r.user_id ?? '',
    ].join('|');
    bump(
      llm,
      key,
      () => ({
        calls: 0,
        failures: 0,
        prompt: 0,
        completion: 0,
        cached: 0,
        reasoning: 0,
        cost: 0n,
        unpriced: 0,
        usageMissing: 0,
        latencySum: 0,
        latencyMax: null,
        buckets: buckets(),
      }),
      (t) => {
        add(t, 'calls', 1);
        add(t, 'failures', r.success ? 0 : 1);
        add(t, 'prompt', r.prompt_tokens);
        add(t, 'completion', r.completion_tokens);
        add(t, 'cached', r.cached_tokens);
        add(t, 'reasoning', r.reasoning_tokens);
        const cost = toNanoCents(r.cost);
        // Unpriced: a call that succeeded with known usage but without a known price (failed calls
        // carry no cost either; usage-missing calls are counted apart).
        if (cost === null) add(t, 'unpriced', r.success && !r.usage_missing ? 1 : 0);
        else add(t, 'cost', cost);
        add(t, 'usageMissing', r.usage_missing ? 1 : 0);
        add(t, 'latencySum', r.latency_ms);
        max(t, 'latencyMax', r.latency_ms);
        bucket(t, 'buckets', r.latency_ms);
      },
    );
    bump(
      byPrincipal,
      [hourOf(r.timestamp), r.tenant_id ?? '', r.user_id ?? ''].join('|'),
      () => ({ calls: 0, failures: 0, prompt: 0, completion: 0, cost: 0n, unpriced: 0, usageMissing: 0 }),
      (t) => {
        add(t, 'calls', 1);
        add(t, 'failures', r.success ? 0 : 1);
        add(t, 'prompt', r.prompt_tokens);
        add(t, 'completion', r.completion_tokens);
        const cost = toNanoCents(r.cost);
        if (cost === null) add(t, 'unpriced', r.success && !r.usage_missing ? 1 : 0);
        else add(t, 'cost', cost);
        add(t, 'usageMissing', r.usage_missing ? 1 : 0);
      },
    );
  }
  // The by-model rollup is the same sums over fewer keys: fold the full-key totals.
  const byModel = new Map<string, Totals>();
  for (const [key, t] of llm) {
    const [hour, provider, model] = key.split('|');
    bump(
      byModel,
      [hour, provider, model].join('|'),
      () => ({
        calls: 0,
        failures: 0,
        prompt: 0,
        completion: 0,
        cached: 0,
        reasoning: 0,
        cost: 0n,
        unpriced: 0,
        usageMissing: 0,
        latencySum: 0,
        latencyMax: null,
        buckets: buckets(),
      }),
      (m) => {
        for (const k of [
          'calls',
          'failures',
          'prompt',
          'completion',
          'cached',
          'reasoning',
          'cost',
          'unpriced',
          'usageMissing',
          'latencySum',
        ]) {
          add(m, k, t[k] as number | bigint);
        }
        max(m, 'latencyMax', t.latencyMax as number | null);
        (t.buckets as number[]).forEach((c, b) => ((m.buckets as number[])[b]! += c));
      },
    );
  }
  const agents = new Map<string, Totals>();
  for (const r of await ds.query(
    `SELECT "timestamp", agent_id, agent_type, workflow_id, tenant_id, success, latency_ms, llm_calls_count, tool_calls_count,
            tokens_used, cost_cents::text AS cost FROM agent_executions WHERE "timestamp" >= $1 AND "timestamp" < $2`,
    [from, to],
  )) {
    const key = [
      hourOf(r.timestamp),
      r.agent_id,
      r.agent_type,
      r.workflow_id ?? '',
      r.tenant_id ?? '',
    ].join('|');
    bump(
      agents,
      key,
      () => ({
        executions: 0,
        failures: 0,
        latencySum: 0,
        latencyMax: null,
        buckets: buckets(),
        llmCalls: 0,
        toolCalls: 0,
        tokens: 0,
        cost: 0n,
      }),
      (t) => {
        add(t, 'executions', 1);
        add(t, 'failures', r.success === false ? 1 : 0);
        add(t, 'latencySum', r.latency_ms);
        max(t, 'latencyMax', r.latency_ms);
        bucket(t, 'buckets', r.latency_ms);
        add(t, 'llmCalls', r.llm_calls_count);
        add(t, 'toolCalls', r.tool_calls_count);
        add(t, 'tokens', r.tokens_used);
        add(t, 'cost', toNanoCents(r.cost));
      },
    );
  }
  const workflows = new Map<string, Totals>();
  for (const r of await ds.query(
    `SELECT finished_at, workflow_id, status, tenant_id, duration_ms, steps_executed, steps_failed, llm_calls_count, tokens_used,
            cost_cents::text AS cost FROM workflow_analytics WHERE finished_at >= $1 AND finished_at < $2`,
    [from, to],
  )) {
    const key = [hourOf(r.finished_at), r.workflow_id, r.status, r.tenant_id ?? ''].join('|');
    bump(
      workflows,
      key,
      () => ({
        runs: 0,
        durationSum: 0,
        durationMax: null,
        buckets: buckets(),
        steps: 0,
        stepsFailed: 0,
        llmCalls: 0,
        tokens: 0,
        cost: 0n,
      }),
      (t) => {
        add(t, 'runs', 1);
        add(t, 'durationSum', r.duration_ms);
        max(t, 'durationMax', r.duration_ms);
        bucket(t, 'buckets', r.duration_ms);
        add(t, 'steps', r.steps_executed);
        add(t, 'stepsFailed', r.steps_failed);
        add(t, 'llmCalls', r.llm_calls_count);
        add(t, 'tokens', r.tokens_used);
        add(t, 'cost', toNanoCents(r.cost));
      },
    );
  }
  return {
    llm_usage_hourly: llm,
    llm_usage_hourly_by_model: byModel,
    llm_usage_hourly_by_principal: byPrincipal,
    agent_executions_hourly: agents,
    workflow_analytics_hourly: workflows,
  };
}

const n = (v: string | number | null) => (v === null ? null : Number(v));
const arr = (v: Array<string | number>) => v.map(Number);

/** Totals of one row of `llm_usage_hourly` or `llm_usage_hourly_by_model`. */
function llmRollupTotals(r: Record<string, any>): Totals {
  return {
    calls: n(r.calls),
    failures: n(r.failures),
    prompt: n(r.prompt_tokens),
    completion: n(r.completion_tokens),
    cached: n(r.cached_tokens),
    reasoning: n(r.reasoning_tokens),
    cost: toNanoCents(r.cost),
    unpriced: n(r.unpriced_calls),
    usageMissing: n(r.usage_missing_calls),
    latencySum: n(r.latency_ms_sum),
    latencyMax: n(r.latency_ms_max),
    buckets: arr(r.latency_ms_buckets),
  };
}

/** The rollup rows of [from, to), in the shape of `expectedRollups`. */
export async function actualRollups(
  ds: DataSource,
  from: Date,
  to: Date,
): Promise<Record<string, Map<string, Totals>>> {
  const llm = new Map<string, Totals>();
  for (const r of await ds.query(
    `SELECT *, cost_cents::text AS cost FROM llm_usage_hourly WHERE hour >= $1 AND hour < $2`,
    [from, to],
  )) {
    llm.set(
      [
        new Date(r.hour).toISOString(),
        r.provider,
        r.model,
        r.agent_id,
        r.workflow_id,
        r.tenant_id,
        r.user_id,
      ].join('|'),
      llmRollupTotals(r),
    );
  }
  const byModel = new Map<string, Totals>();
  for (const r of await ds.query(
    `SELECT *, cost_cents::text AS cost FROM llm_usage_hourly_by_model WHERE hour >= $1 AND hour < $2`,
    [from, to],
  )) {
    byModel.set(
      [new Date(r.hour).toISOString(), r.provider, r.model].join('|'),
      llmRollupTotals(r),
    );
  }
  const byPrincipal = new Map<string, Totals>();
  for (const r of await ds.query(
    `SELECT *, cost_cents::text AS cost FROM llm_usage_hourly_by_principal WHERE hour >= $1 AND hour < $2`,
    [from, to],
  )) {
    byPrincipal.set([new Date(r.hour).toISOString(), r.tenant_id, r.user_id].join('|'), {
      calls: n(r.calls),
      failures: n(r.failures),
      prompt: n(r.prompt_tokens),
      completion: n(r.completion_tokens),
      cost: toNanoCents(r.cost),
      unpriced: n(r.unpriced_calls),
      usageMissing: n(r.usage_missing_calls),
    });
  }
  const agents = new Map<string, Totals>();
  for (const r of await ds.query(
    `SELECT *, cost_cents::text AS cost FROM agent_executions_hourly WHERE hour >= $1 AND hour < $2`,
    [from, to],
  )) {
    agents.set(
      [new Date(r.hour).toISOString(), r.agent_id, r.agent_type, r.workflow_id, r.tenant_id].join(
        '|',
      ),
      {
        executions: n(r.executions),
        failures: n(r.failures),
        latencySum: n(r.latency_ms_sum),
        latencyMax: n(r.latency_ms_max),
        buckets: arr(r.latency_ms_buckets),
        llmCalls: n(r.llm_calls),
        toolCalls: n(r.tool_calls),
        tokens: n(r.tokens_used),
        cost: toNanoCents(r.cost),
      },
    );
  }
  const workflows = new Map<string, Totals>();
  for (const r of await ds.query(
    `SELECT *, cost_cents::text AS cost FROM workflow_analytics_hourly WHERE hour >= $1 AND hour < $2`,
    [from, to],
  )) {
    workflows.set(
      [new Date(r.hour).toISOString(), r.workflow_id, r.status, r.tenant_id].join('|'),
      {
        runs: n(r.runs),
        durationSum: n(r.duration_ms_sum),
        durationMax: n(r.duration_ms_max),
        buckets: arr(r.duration_ms_buckets),
        steps: n(r.steps_executed),
        stepsFailed: n(r.steps_failed),
        llmCalls: n(r.llm_calls),
        tokens: n(r.tokens_used),
        cost: toNanoCents(r.cost),
      },
    );
  }
  return {
    llm_usage_hourly: llm,
    llm_usage_hourly_by_model: byModel,
    llm_usage_hourly_by_principal: byPrincipal,
    agent_executions_hourly: agents,
    workflow_analytics_hourly: workflows,
  };
}

/** Sorted entries, for a readable `toEqual` diff. */
export function sortedEntries(map: Map<string, Totals>): Array<[string, Totals]> {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
