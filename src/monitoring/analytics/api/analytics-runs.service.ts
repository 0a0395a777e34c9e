import { BadRequestException, NotFoundException } from '@nestjs/common';
import { moneyFromNano, parseCentsToNano } from './analytics-money';
import type { AnalyticsQueryService } from './analytics-query.service';
import { resolveRange } from './analytics-range';
import type {
  RunKind,
  RunNodeDto,
  RunNodeKind,
  RunsQueryDto,
  RunsResponseDto,
  RunStatus,
  RunSummaryDto,
  RunTotalsDto,
  RunTreeResponseDto,
} from './dto/analytics-runs.dto';

const DEFAULT_PAGE = 50;
/** Most rows one run or request tree is assembled from; a larger trace is refused (400) rather than truncated. */
export const MAX_TREE_ROWS = 20_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A raw row of any of the four tables, in the shape the tree queries select. */
interface StepRow {
  kind: RunNodeKind;
  id: string;
  parent_span_id: string | null;
  trace_id: string | null;
  request_id: string | null;
  name: string;
  started: Date | string;
  duration_ms: number | null;
  status: RunStatus;
  error_type: string | null;
  error_message: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cost_cents: string | null;
  provider: string | null;
  model: string | null;
  run_id: string | null;
  input_size: number | null;
  output_size: number | null;
}

// One SELECT per table, all with the columns of `StepRow`; `%W` is the WHERE clause.
const STEP_SELECTS = [
  `SELECT 'workflow' AS kind, id::text, parent_span_id::text, trace_id, request_id, workflow_id AS name,
     started_at AS started, duration_ms, status, error_type, error_message, NULL::int AS prompt_tokens,
     NULL::int AS completion_tokens, NULL::text AS cost_cents, NULL AS provider, NULL AS model, run_id,
     NULL::int AS input_size, NULL::int AS output_size
   FROM workflow_analytics WHERE %W`,
  `SELECT 'agent', id::text, parent_span_id::text, trace_id, request_id, agent_id, timestamp, latency_ms,
     CASE WHEN success THEN 'completed' ELSE 'failed' END, error_type, error_message, NULL::int, NULL::int,
     NULL::text, NULL, NULL, NULL, NULL::int, NULL::int
   FROM agent_executions WHERE %W`,
  `SELECT 'llm', id::text, parent_span_id::text, trace_id, request_id, provider || '/' || model, timestamp,
     latency_ms, CASE WHEN success THEN 'completed' ELSE 'failed' END, error_type, error_message,
     prompt_tokens, completion_tokens, cost_cents::text, provider, model, NULL, NULL::int, NULL::int
   FROM llm_usage WHERE %W`,
  `SELECT 'tool', id::text, parent_span_id::text, trace_id, request_id, tool_name, timestamp, latency_ms,
     CASE WHEN success THEN 'completed' ELSE 'failed' END, error_type, error_message, NULL::int, NULL::int,
     NULL::text, NULL, NULL, NULL, input_size, output_size
   FROM tool_calls WHERE %W`,
];

const time = (value: Date | string): number => (value instanceof Date ? value : new Date(value)).getTime();
const optional = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);

/**
 * Runs as traces: the runs list (workflow runs and agent runs outside any workflow or agent), and
 * one run or one HTTP request as a tree of its steps, assembled from the four raw tables by span
 * id and parent span id. Numbers are the raw rows' own: a node's tokens and cost are the sums of
 * the LLM calls under it, the totals the sums over all nodes.
 */
export class AnalyticsRunsService {
  constructor(private readonly queries: AnalyticsQueryService) {}

  async runs(query: RunsQueryDto, now = new Date()): Promise<RunsResponseDto> {
    const range = resolveRange(query, now);
    const limit = query.limit ?? DEFAULT_PAGE;
    const kind: RunKind | undefined =
      query.kind ?? (query.workflow_id !== undefined ? 'workflow' : query.agent_id !== undefined ? 'agent' : undefined);
    if ((kind === 'agent' && query.workflow_id !== undefined) || (kind === 'workflow' && query.agent_id !== undefined))
      throw new BadRequestException('workflow_id selects workflow runs and agent_id agent runs: give one of them');
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const params: unknown[] = [range.from.toISOString(), range.to.toISOString()];
    const p = (value: unknown) => `$${params.push(value)}`;
    const common = (alias: string) => {
      const parts: string[] = [];
      if (query.tenant_id !== undefined) parts.push(`${alias}.tenant_id = ${p(query.tenant_id)}`);
      if (query.user_id !== undefined) parts.push(`${alias}.user_id = ${p(query.user_id)}`);
      return parts.map((x) => ` AND ${x}`).join('');
    };
    const selects: string[] = [];
    if (kind !== 'agent') {
      let where = `w.started_at >= $1 AND w.started_at < $2${common('w')}`;
      if (query.workflow_id !== undefined) where += ` AND w.workflow_id = ${p(query.workflow_id)}`;
      if (query.status !== undefined) where += ` AND w.status = ${p(query.status)}`;
      selects.push(`SELECT 'workflow' AS kind, w.id::text AS id, w.workflow_id AS name, w.run_id,
          w.started_at AS started, w.duration_ms, w.status, w.error_type, w.error_message, w.llm_calls_count,
          w.tokens_used, w.cost_cents::text AS cost_cents, w.request_id, w.trace_id, w.tenant_id, w.user_id
        FROM workflow_analytics w WHERE ${where}`);
    }
    if (kind !== 'workflow' && query.status !== 'timeout') {
      let where = `a.timestamp >= $1 AND a.timestamp < $2 AND a.workflow_run_id IS NULL${common('a')}
        AND NOT EXISTS (SELECT 1 FROM agent_executions p WHERE p.id = a.parent_span_id)`;
      if (query.agent_id !== undefined) where += ` AND a.agent_id = ${p(query.agent_id)}`;
      if (query.status !== undefined) where += ` AND a.success = ${query.status === 'completed' ? 'true' : 'false'}`;
      selects.push(`SELECT 'agent' AS kind, a.id::text AS id, a.agent_id AS name, NULL AS run_id,
          a.timestamp AS started, a.latency_ms AS duration_ms,
          CASE WHEN a.success THEN 'completed' ELSE 'failed' END AS status, a.error_type, a.error_message,
          a.llm_calls_count, a.tokens_used, a.cost_cents::text AS cost_cents, a.request_id, a.trace_id,
          a.tenant_id, a.user_id
        FROM agent_executions a WHERE ${where}`);
    }
    const after = cursor ? `WHERE (started, id) < (${p(cursor.started)}::timestamptz, ${p(cursor.id)})` : '';
    const sql = `SELECT * FROM (${selects.join('\nUNION ALL\n')}) runs ${after}
      ORDER BY started DESC, id DESC LIMIT ${limit + 1}`;
    const rows = (await this.queries.read(sql, params)) as RunRow[];
    const page = rows.slice(0, limit).map(toRunSummary);
    const response: RunsResponseDto = {
      range: { from: range.from.toISOString(), to: range.to.toISOString() },
      runs: page,
    };
    const last = rows.length > limit ? rows[limit - 1] : undefined;
    if (last) response.nextCursor = encodeCursor(new Date(time(last.started)).toISOString(), last.id);
    return response;
  }

  /** One workflow run or agent run, by its span id (or a workflow's run id), as a tree. */
  async run(id: string): Promise<RunTreeResponseDto> {
    const root = await this.findRoot(id);
    if (!root) throw new NotFoundException(`no run with id ${id}`);
    // Rows written before runs were traced carry no trace id: such a run is shown alone.
    const rows = root.trace_id ? await this.steps('trace_id = $1', [root.trace_id]) : [root];
    const tree = buildForest(rows);
    const node = tree.byId.get(root.id);
    if (!node) throw new NotFoundException(`no run with id ${id}`);
    return treeResponse([node], root.trace_id ?? undefined, root.request_id ?? undefined, node.status);
  }

  /** Every step of one HTTP request, as a tree under the request. */
  async request(requestId: string): Promise<RunTreeResponseDto> {
    const rows = await this.steps('request_id = $1', [requestId]);
    if (rows.length === 0) throw new NotFoundException(`no runs, agents, LLM or tool calls recorded for request ${requestId}`);
    const { roots } = buildForest(rows);
    const traceIds = [...new Set(rows.map((r) => r.trace_id).filter((t): t is string => t !== null))];
    const status: RunStatus = roots.some((r) => r.status !== 'completed') ? 'failed' : 'completed';
    return treeResponse(roots, traceIds.length === 1 ? traceIds[0] : undefined, requestId, status);
  }

  private async findRoot(id: string): Promise<StepRow | undefined> {
    const rows = UUID.test(id)
      ? await this.steps('id = $1::uuid', [id], ['workflow_analytics', 'agent_executions'])
      : await this.queries.read(
          `${STEP_SELECTS[0]!.replace('%W', 'run_id = $1')} ORDER BY started DESC LIMIT 1`,
          [id],
        ).then((r) => r as StepRow[]);
    return rows[0];
  }

  private async steps(where: string, params: unknown[], only?: string[]): Promise<StepRow[]> {
    const selects = only
      ? STEP_SELECTS.filter((s) => only.some((table) => s.includes(`FROM ${table} `)))
      : STEP_SELECTS;
    const sql = `${selects.map((s) => s.replace('%W', where)).join('\nUNION ALL\n')}\nLIMIT ${MAX_TREE_ROWS + 1}`;
    const rows = (await this.queries.read(sql, params)) as StepRow[];
    if (rows.length > MAX_TREE_ROWS)
      throw new BadRequestException(`the run has more than ${MAX_TREE_ROWS} steps: too large to show as one tree`);
    return rows;
  }
}

interface RunRow {
  kind: RunKind;
  id: string;
  name: string;
  run_id: string | null;
  started: Date | string;
  duration_ms: number | null;
  status: RunStatus;
  error_type: string | null;
  error_message: string | null;
  llm_calls_count: number | null;
  tokens_used: number | null;
  cost_cents: string | null;
  request_id: string | null;
  trace_id: string | null;
  tenant_id: string | null;
  user_id: string | null;
}

function toRunSummary(r: RunRow): RunSummaryDto {
  const run: RunSummaryDto = {
    kind: r.kind,
    id: r.id,
    name: r.name,
    status: r.status,
    startedAt: new Date(time(r.started)).toISOString(),
    durationMs: r.duration_ms ?? 0,
    llmCalls: r.llm_calls_count ?? 0,
    tokens: r.tokens_used ?? 0,
    cost: moneyFromNano(parseCentsToNano(r.cost_cents)),
  };
  const set = <K extends keyof RunSummaryDto>(key: K, value: RunSummaryDto[K] | null) => {
    if (value !== null && value !== undefined) run[key] = value;
  };
  set('runId', r.run_id);
  set('errorType', r.error_type);
  set('errorMessage', r.error_message);
  set('requestId', r.request_id);
  set('traceId', r.trace_id);
  set('tenantId', r.tenant_id);
  set('userId', r.user_id);
  return run;
}

function encodeCursor(started: string, id: string): string {
  return Buffer.from(`${started}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { started: string; id: string } {
  const [started, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (extra !== undefined || !started || !id || !UUID.test(id) || Number.isNaN(Date.parse(started)))
    throw new BadRequestException('cursor must be the nextCursor of a previous page');
  return { started, id };
}

/** A node while the tree is built: the DTO plus exact sums in nano-cents. */
interface BuildNode extends RunNodeDto {
  start: number;
  ownNano: bigint;
  ownPriced: boolean;
  children: BuildNode[];
}

function buildForest(rows: readonly StepRow[]): { roots: BuildNode[]; byId: Map<string, BuildNode> } {
  const byId = new Map<string, BuildNode>();
  for (const r of rows) {
    if (byId.has(r.id)) continue;
    const prompt = r.prompt_tokens ?? 0;
    const completion = r.completion_tokens ?? 0;
    const node: BuildNode = {
      kind: r.kind,
      name: r.name,
      id: r.id,
      startedAt: new Date(time(r.started)).toISOString(),
      startOffsetMs: 0,
      durationMs: r.duration_ms ?? 0,
      status: r.status,
      tokens: { prompt, completion, total: prompt + completion },
      cost: moneyFromNano(0n),
      children: [],
      start: time(r.started),
      ownNano: r.kind === 'llm' ? parseCentsToNano(r.cost_cents) : 0n,
      ownPriced: r.kind !== 'llm' || r.cost_cents !== null,
    };
    if (r.parent_span_id !== null) node.parentId = r.parent_span_id;
    if (r.error_type !== null) node.errorType = r.error_type;
    if (r.error_message !== null) node.errorMessage = r.error_message;
    if (r.kind === 'llm') {
      node.provider = r.provider ?? 'unknown';
      node.model = r.model ?? 'unknown';
      node.priced = r.cost_cents !== null;
    }
    if (r.kind === 'workflow' && r.run_id !== null) node.runId = r.run_id;
    if (r.kind === 'tool') {
      const input = optional(r.input_size);
      const output = optional(r.output_size);
      if (input !== undefined) node.inputSize = input;
      if (output !== undefined) node.outputSize = output;
    }
    byId.set(r.id, node);
  }
  const roots: BuildNode[] = [];
  for (const node of byId.values()) {
    const parent = node.parentId === undefined ? undefined : byId.get(node.parentId);
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  const order = (a: BuildNode, b: BuildNode) => a.start - b.start || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  for (const node of byId.values()) node.children.sort(order);
  roots.sort(order);
  return { roots, byId };
}

/** Sums tokens and cost bottom-up and sets start offsets; returns the subtree's totals. */
function finish(node: BuildNode, origin: number, totals: Totals): { prompt: number; completion: number; nano: bigint } {
  node.startOffsetMs = node.start - origin;
  let prompt = node.tokens.prompt;
  let completion = node.tokens.completion;
  let nano = node.ownNano;
  if (node.kind === 'llm') {
    totals.llmCalls++;
    if (!node.priced && node.status === 'completed') totals.unpricedCalls++;
  } else if (node.kind === 'tool') totals.toolCalls++;
  else if (node.kind === 'agent') totals.agentRuns++;
  if (node.kind !== 'workflow' && node.status !== 'completed') totals.failedSteps++;
  for (const child of node.children) {
    const sub = finish(child, origin, totals);
    prompt += sub.prompt;
    completion += sub.completion;
    nano += sub.nano;
  }
  node.tokens = { prompt, completion, total: prompt + completion };
  node.cost = moneyFromNano(nano);
  return { prompt, completion, nano };
}

interface Totals {
  llmCalls: number;
  toolCalls: number;
  agentRuns: number;
  failedSteps: number;
  unpricedCalls: number;
}

function strip(node: BuildNode): RunNodeDto {
  const { start: _start, ownNano: _own, ownPriced: _priced, children, ...dto } = node;
  return { ...dto, children: children.map(strip) };
}

function treeResponse(
  roots: BuildNode[],
  traceId: string | undefined,
  requestId: string | undefined,
  status: RunStatus,
): RunTreeResponseDto {
  const origin = Math.min(...roots.map((r) => r.start));
  const end = Math.max(...roots.map((r) => r.start + r.durationMs));
  const counts: Totals = { llmCalls: 0, toolCalls: 0, agentRuns: 0, failedSteps: 0, unpricedCalls: 0 };
  let prompt = 0;
  let completion = 0;
  let nano = 0n;
  for (const root of roots) {
    const sub = finish(root, origin, counts);
    prompt += sub.prompt;
    completion += sub.completion;
    nano += sub.nano;
  }
  const totals: RunTotalsDto = {
    tokens: { prompt, completion, total: prompt + completion },
    cost: moneyFromNano(nano),
    ...counts,
  };
  const response: RunTreeResponseDto = {
    startedAt: new Date(origin).toISOString(),
    durationMs: end - origin,
    status,
    roots: roots.map(strip),
    totals,
  };
  if (traceId !== undefined) response.traceId = traceId;
  if (requestId !== undefined) response.requestId = requestId;
  return response;
}
