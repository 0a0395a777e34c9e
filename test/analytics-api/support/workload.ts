import { randomUUID } from 'node:crypto';

/**
 * A deterministic analytics workload (seeded), written straight into the raw tables, plus the
 * oracle the tests compare the API against: plain sums over the generated rows, computed in JS
 * with BigInt, never through the code under test.
 */

export interface SqlRunner {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

export interface LlmRow {
  timestamp: Date;
  provider: string;
  model: string;
  agent_id: string | null;
  workflow_id: string | null;
  tenant_id: string | null;
  user_id: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  /** Exact cents with 9 decimals, or null for an unpriced call. */
  cost_cents: string | null;
  latency_ms: number;
  success: boolean;
  /** A successful call that reported no usage: tokens 0, cost NULL, not unpriced. */
  usage_missing: boolean;
}

export interface AgentRow {
  timestamp: Date;
  agent_id: string;
  agent_type: string;
  success: boolean | null;
  latency_ms: number | null;
  llm_calls_count: number;
  tool_calls_count: number;
  tokens_used: number;
  cost_cents: string;
  workflow_id: string | null;
  tenant_id: string | null;
}

export interface WorkflowRow {
  workflow_id: string;
  run_id: string;
  status: 'completed' | 'failed' | 'timeout';
  duration_ms: number | null;
  steps_executed: number;
  steps_failed: number;
  started_at: Date;
  finished_at: Date;
  llm_calls_count: number;
  tokens_used: number;
  cost_cents: string;
  tenant_id: string | null;
}

export interface Workload {
  llm: LlmRow[];
  agents: AgentRow[];
  workflows: WorkflowRow[];
}

/** Mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const MODELS: ReadonlyArray<[string, string]> = [
  ['openai', 'gpt-4o'],
  ['openai', 'gpt-4o-mini'],
  ['anthropic', 'claude-3-5-sonnet'],
  ['anthropic', 'claude-3-haiku'],
  ['mistral', 'mistral-large'],
];
export const AGENTS: ReadonlyArray<[string, string]> = [
  ['planner', 'llm'],
  ['researcher', 'rag'],
  ['coder', 'tool'],
  ['reviewer', 'llm'],
];
export const WORKFLOWS = ['onboarding', 'support-ticket', 'nightly-report'];
export const TENANTS = ['acme', 'globex', 'initech'];
export const USERS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];

function nanoToCents(nano: bigint): string {
  const whole = nano / 1_000_000_000n;
  const frac = (nano % 1_000_000_000n).toString().padStart(9, '0');
  return `${whole}.${frac}`;
}

/** Latencies spread over every bucket, with some exactly on bucket bounds. */
function latency(rand: () => number): number {
  const r = rand();
  if (r < 0.05) return [50, 100, 250, 500, 1000, 2500][Math.floor(rand() * 6)]!;
  if (r < 0.5) return 1 + Math.floor(rand() * 900);
  if (r < 0.9) return 900 + Math.floor(rand() * 9000);
  if (r < 0.99) return 10_000 + Math.floor(rand() * 100_000);
  return 300_001 + Math.floor(rand() * 50_000);
}

export interface WorkloadSpec {
  seed: number;
  from: Date;
  to: Date;
  llm: number;
  agents: number;
  workflows: number;
}

/** Generates rows with timestamps spread uniformly (to the millisecond) over `[from, to)`. */
export function generateWorkload(spec: WorkloadSpec): Workload {
  const rand = prng(spec.seed);
  const span = spec.to.getTime() - spec.from.getTime();
  const at = () => new Date(spec.from.getTime() + Math.floor(rand() * span));
  const pick = <T>(list: ReadonlyArray<T>): T => list[Math.floor(rand() * list.length)]!;
  const maybe = <T>(value: T, p = 0.85): T | null => (rand() < p ? value : null);

  const llm: LlmRow[] = [];
  for (let i = 0; i < spec.llm; i++) {
    const [provider, model] = pick(MODELS);
    const prompt = Math.floor(rand() * 4000);
    const completion = Math.floor(rand() * 1500);
    // Up to ~3 cents with all nine decimals used; about 5% unpriced.
    const cost = rand() < 0.05 ? null : nanoToCents(BigInt(Math.floor(rand() * 3_000_000_000)));
    llm.push({
      timestamp: at(),
      provider,
      model,
      agent_id: maybe(pick(AGENTS)[0]),
      workflow_id: maybe(pick(WORKFLOWS)),
      tenant_id: maybe(pick(TENANTS)),
      user_id: maybe(pick(USERS), 0.7),
      prompt_tokens: prompt,
      completion_tokens: completion,
      cached_tokens: Math.floor(prompt * rand() * 0.3),
      reasoning_tokens: Math.floor(completion * rand() * 0.2),
      cost_cents: cost,
      latency_ms: latency(rand),
      success: rand() > 0.08,
      usage_missing: false,
    });
    // A third of the successful calls without cost are usage-missing ones (decided without
    // drawing from `rand`, so the rest of the workload stays the same).
    const row = llm[llm.length - 1]!;
    if (row.cost_cents === null && row.success && i % 3 === 0) {
      Object.assign(row, { usage_missing: true, prompt_tokens: 0, completion_tokens: 0, cached_tokens: 0, reasoning_tokens: 0 });
    }
  }
  const agents: AgentRow[] = [];
  for (let i = 0; i < spec.agents; i++) {
    const [agentId, agentType] = pick(AGENTS);
    agents.push({
      timestamp: at(),
      agent_id: agentId,
      agent_type: agentType,
      success: rand() < 0.02 ? null : rand() > 0.12,
      latency_ms: rand() < 0.03 ? null : latency(rand),
      llm_calls_count: Math.floor(rand() * 6),
      tool_calls_count: Math.floor(rand() * 4),
      tokens_used: Math.floor(rand() * 9000),
      cost_cents: nanoToCents(BigInt(Math.floor(rand() * 9_000_000_000))),
      workflow_id: maybe(pick(WORKFLOWS)),
      tenant_id: maybe(pick(TENANTS)),
    });
  }
  const workflows: WorkflowRow[] = [];
  for (let i = 0; i < spec.workflows; i++) {
    const finished = at();
    const duration = rand() < 0.03 ? null : latency(rand) * 3;
    const r = rand();
    workflows.push({
      workflow_id: pick(WORKFLOWS),
      run_id: randomUUID(),
      status: r < 0.8 ? 'completed' : r < 0.93 ? 'failed' : 'timeout',
      duration_ms: duration,
      steps_executed: 1 + Math.floor(rand() * 12),
      steps_failed: Math.floor(rand() * 2),
      started_at: new Date(finished.getTime() - (duration ?? 1000)),
      finished_at: finished,
      llm_calls_count: Math.floor(rand() * 10),
      tokens_used: Math.floor(rand() * 20000),
      cost_cents: nanoToCents(BigInt(Math.floor(rand() * 20_000_000_000))),
      tenant_id: maybe(pick(TENANTS)),
    });
  }
  return { llm, agents, workflows };
}

async function insertRows(
  db: SqlRunner,
  table: string,
  columns: string[],
  rows: unknown[][],
  casts: Record<string, string> = {},
): Promise<void> {
  const perBatch = Math.max(1, Math.floor(30_000 / columns.length));
  for (let start = 0; start < rows.length; start += perBatch) {
    const batch = rows.slice(start, start + perBatch);
    const params: unknown[] = [];
    const tuples = batch.map((row) => {
      const placeholders = row.map((value, i) => {
        params.push(value);
        const cast = casts[columns[i]!];
        return `$${params.length}${cast ? `::${cast}` : ''}`;
      });
      return `(${placeholders.join(', ')})`;
    });
    await db.query(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES ${tuples.join(', ')}`, params);
  }
}

/** Inserts the workload into the raw tables (bound parameters, batches). */
export async function insertWorkload(db: SqlRunner, w: Workload): Promise<void> {
  const iso = (d: Date) => d.toISOString();
  await insertRows(
    db,
    'llm_usage',
    ['timestamp', 'provider', 'model', 'agent_id', 'workflow_id', 'tenant_id', 'user_id', 'prompt_tokens', 'completion_tokens',
      'cached_tokens', 'reasoning_tokens', 'cost_cents', 'latency_ms', 'success', 'usage_missing'],
    w.llm.map((r) => [iso(r.timestamp), r.provider, r.model, r.agent_id, r.workflow_id, r.tenant_id, r.user_id, r.prompt_tokens,
      r.completion_tokens, r.cached_tokens, r.reasoning_tokens, r.cost_cents, r.latency_ms, r.success, r.usage_missing]),
    { timestamp: 'timestamptz', cost_cents: 'numeric', success: 'boolean', usage_missing: 'boolean' },
  );
  await insertRows(
    db,
    'agent_executions',
    ['timestamp', 'agent_id', 'agent_type', 'success', 'latency_ms', 'llm_calls_count', 'tool_calls_count', 'tokens_used',
      'cost_cents', 'workflow_id', 'tenant_id'],
    w.agents.map((r) => [iso(r.timestamp), r.agent_id, r.agent_type, r.success, r.latency_ms, r.llm_calls_count,
      r.tool_calls_count, r.tokens_used, r.cost_cents, r.workflow_id, r.tenant_id]),
    { timestamp: 'timestamptz', cost_cents: 'numeric', success: 'boolean' },
  );
  await insertRows(
    db,
    'workflow_analytics',
    ['workflow_id', 'run_id', 'status', 'duration_ms', 'steps_executed', 'steps_failed', 'started_at', 'finished_at',
      'llm_calls_count', 'tokens_used', 'cost_cents', 'tenant_id'],
    w.workflows.map((r) => [r.workflow_id, r.run_id, r.status, r.duration_ms, r.steps_executed, r.steps_failed, iso(r.started_at),
      iso(r.finished_at), r.llm_calls_count, r.tokens_used, r.cost_cents, r.tenant_id]),
    { started_at: 'timestamptz', finished_at: 'timestamptz', cost_cents: 'numeric' },
  );
}

// ----- oracle --------------------------------------------------------------------------------

export const LATENCY_BOUNDS = [50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000];

export function centsToNano(cents: string | null): bigint {
  if (cents === null) return 0n;
  const [whole, frac = ''] = cents.split('.');
  return BigInt(whole!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
}

/** Exact cents (9 decimals) of a nano-cent total, as the API formats it. */
export function formatCents(nano: bigint): string {
  return nanoToCents(nano);
}

/** Exact dollars (11 decimals) of a nano-cent total, as the API formats it. */
export function formatUsd(nano: bigint): string {
  const whole = nano / 100_000_000_000n;
  const frac = (nano % 100_000_000_000n).toString().padStart(11, '0');
  return `${whole}.${frac}`;
}

export function within<T>(rows: T[], time: (r: T) => Date, from: Date, to: Date): T[] {
  return rows.filter((r) => time(r).getTime() >= from.getTime() && time(r).getTime() < to.getTime());
}

/** PostgreSQL's percentile_cont: linear interpolation between the closest ranks. */
export function percentileCont(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * The documented estimate from bucket counts: the bucket holding rank q·n, linear inside it
 * (lower edge 0 for the first bucket; the observed maximum caps the estimate and stands in for
 * the +Inf bucket's upper edge).
 */
export function percentileFromBuckets(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const counts = new Array<number>(LATENCY_BOUNDS.length + 1).fill(0);
  for (const v of values) {
    let i = LATENCY_BOUNDS.findIndex((b) => v <= b);
    if (i < 0) i = LATENCY_BOUNDS.length;
    counts[i]! += 1;
  }
  const max = Math.max(...values);
  const rank = q * values.length;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && seen + c >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS[i - 1]!;
      const upper = LATENCY_BOUNDS[i];
      if (upper === undefined) return max;
      return Math.min(lower + ((upper - lower) * (rank - seen)) / c, max);
    }
    seen += c;
  }
  return max;
}

export const round3 = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000);
