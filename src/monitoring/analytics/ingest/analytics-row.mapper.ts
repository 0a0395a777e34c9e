import { uuidV7 } from '../../tracing/uuid-v7';
import {
  formatNanoCentsAsCents,
  isUsageMissing,
  type AgentExecutionEvent,
  type LlmCallEvent,
  type MonitoringEvent,
  type ToolCallEvent,
  type WorkflowRunEvent,
} from '../../events/monitoring-event';
import type { AnalyticsRow, AnalyticsTable } from './analytics-tables';

/** Largest JSON text kept for `attributes`; bigger values are replaced by a marker. */
export const MAX_ATTRIBUTES_JSON_LENGTH = 32 * 1024;

/**
 * Longest text kept in an id-like column. Several are indexed, and a B-tree entry larger than a
 * third of a page makes the INSERT fail.
 */
export const MAX_TEXT_LENGTH = 1024;

const INT4_MAX = 2_147_483_647;
const WORKFLOW_STATUSES = new Set(['completed', 'failed', 'timeout']);

/** A row for one raw table, ready for the write queue. */
export interface MappedRow {
  table: AnalyticsTable;
  row: AnalyticsRow;
}

/**
 * Maps a finished event to its raw-table row, or null for events that are not stored (tool calls,
 * HTTP requests). Values are sanitised so one odd event can never make a whole batch fail:
 * integers are rounded and clamped to `integer`, NUL characters (rejected by PostgreSQL `text`
 * and `jsonb`) are removed, cost is written as an exact decimal string, times as Unix ms.
 */
export function mapEventToRow(event: MonitoringEvent): MappedRow | null {
  switch (event.kind) {
    case 'llm_call':
      return { table: 'llm_usage', row: llmUsageRow(event) };
    case 'agent_execution':
      return { table: 'agent_executions', row: agentExecutionRow(event) };
    case 'workflow_run':
      return { table: 'workflow_analytics', row: workflowRow(event) };
    case 'tool_call':
      return { table: 'tool_calls', row: toolCallRow(event) };
    default:
      return null;
  }
}

function llmUsageRow(e: LlmCallEvent): AnalyticsRow {
  const c = e.context;
  const u = e.usage;
  return [
    spanId(e),
    validTime(e.startedAt),
    text(c.requestId),
    text(c.agentId),
    text(c.workflowId),
    text(c.workflowRunId),
    text(e.provider) ?? 'unknown',
    text(e.model) ?? 'unknown',
    int(u?.inputTokens) ?? 0,
    int(u?.outputTokens) ?? 0,
    int(u?.cachedInputTokens) ?? 0,
    int(u?.cacheWriteInputTokens) ?? 0,
    int(u?.reasoningTokens) ?? 0,
    e.costNanoCents === null ? null : cents(e.costNanoCents),
    int(e.durationMs) ?? 0,
    int(e.timeToFirstChunkMs),
    e.success === true,
    text(e.error?.type),
    e.streamed === true,
    text(c.userId),
    text(c.tenantId),
    text(c.sessionId),
    json(e.attributes),
    spanRef(e.parentSpanId),
    traceId(c.traceId),
    text(e.error?.message),
    isUsageMissing(e),
  ];
}

function agentExecutionRow(e: AgentExecutionEvent): AnalyticsRow {
  const c = e.context;
  return [
    spanId(e),
    validTime(e.startedAt),
    text(e.agentId) ?? 'unknown',
    text(e.agentType) ?? 'generic',
    e.success === true,
    int(e.durationMs) ?? 0,
    int(e.llmCallsCount) ?? 0,
    int(e.toolCallsCount) ?? 0,
    int(e.tokensUsed) ?? 0,
    cents(e.costNanoCents) ?? '0',
    text(c.requestId),
    text(c.workflowId),
    text(c.workflowRunId),
    text(e.error?.type),
    text(c.userId),
    text(c.tenantId),
    json(e.attributes),
    spanRef(e.parentSpanId),
    traceId(c.traceId),
    text(e.error?.message),
  ];
}

function workflowRow(e: WorkflowRunEvent): AnalyticsRow {
  const c = e.context;
  const durationMs = int(e.durationMs) ?? 0;
  const started = validTime(e.startedAt);
  const finished = started + durationMs;
  if (!(Math.abs(finished) <= MAX_TIME_MS)) throw new RangeError(`finish time out of range: ${finished}`);
  return [
    spanId(e),
    text(e.workflowId) ?? 'unknown',
    text(e.runId) ?? '',
    WORKFLOW_STATUSES.has(e.status) ? e.status : 'failed',
    durationMs,
    int(e.stepsExecuted) ?? 0,
    int(e.stepsFailed) ?? 0,
    started,
    finished,
    int(e.llmCallsCount) ?? 0,
    int(e.tokensUsed) ?? 0,
    cents(e.costNanoCents) ?? '0',
    text(c.requestId),
    text(e.error?.type),
    text(c.userId),
    text(c.tenantId),
    json(e.attributes),
    spanRef(e.parentSpanId),
    traceId(c.traceId),
    text(e.error?.message),
  ];
}

function toolCallRow(e: ToolCallEvent): AnalyticsRow {
  const c = e.context;
  return [
    spanId(e),
    validTime(e.startedAt),
    text(e.toolName) ?? 'unknown',
    text(e.agentId ?? c.agentId),
    e.success === true,
    int(e.durationMs) ?? 0,
    text(e.error?.type),
    text(e.error?.message),
    int(e.inputSize),
    int(e.outputSize),
    text(e.input),
    text(e.output),
    text(c.requestId),
    text(c.workflowId),
    text(c.workflowRunId),
    text(c.userId),
    text(c.tenantId),
    spanRef(e.parentSpanId),
    traceId(c.traceId),
    json(e.attributes),
  ];
}

/** Per ASCII code unit: bit 1 set for a hexadecimal digit of either case, bit 2 for `0-9a-f` only. */
const HEX_DIGIT = new Uint8Array(128);
for (const ch of '0123456789abcdef') HEX_DIGIT[ch.charCodeAt(0)] = 3;
for (const ch of 'ABCDEF') HEX_DIGIT[ch.charCodeAt(0)] = 1;

/** True when `s[from..to)` are hexadecimal digits; `mask` 1 accepts either case, 2 lower case only. */
function hexDigits(s: string, from: number, to: number, mask: 1 | 2): boolean {
  for (let i = from; i < to; i++) {
    const ch = s.charCodeAt(i);
    if (ch >= 128 || (HEX_DIGIT[ch]! & mask) === 0) return false;
  }
  return true;
}

/**
 * `8-4-4-4-12` hexadecimal digits, either case: the ids the COPY encoder and PostgreSQL's `uuid`
 * accept. Checked code unit by code unit: ids may come from users' events, and a regular
 * expression costs more per row than the rest of the id handling.
 */
function isUuid(s: string): boolean {
  return (
    s.length === 36 &&
    s.charCodeAt(8) === 45 &&
    s.charCodeAt(13) === 45 &&
    s.charCodeAt(18) === 45 &&
    s.charCodeAt(23) === 45 &&
    hexDigits(s, 0, 8, 1) &&
    hexDigits(s, 9, 13, 1) &&
    hexDigits(s, 14, 18, 1) &&
    hexDigits(s, 19, 23, 1) &&
    hexDigits(s, 24, 36, 1)
  );
}

/** The event's span id as the row id; events built without one get a new id. */
function spanId(e: MonitoringEvent): string {
  return typeof e.spanId === 'string' && isUuid(e.spanId) ? e.spanId : uuidV7();
}

function spanRef(value: string | undefined): string | null {
  return typeof value === 'string' && isUuid(value) ? value : null;
}

/** A W3C trace id: 32 lower-case hexadecimal digits. */
function traceId(value: string | undefined): string | null {
  return typeof value === 'string' && value.length === 32 && hexDigits(value, 0, 32, 2) ? value : null;
}

/** Largest distance from 1970 a JavaScript `Date` can hold, in ms. */
const MAX_TIME_MS = 8.64e15;

/**
 * A timestamp column's value: Unix milliseconds. Each writer converts it to what it sends (COPY
 * binary: microseconds since 2000; INSERT and COPY text: ISO 8601), so the row mapper formats no
 * date and the binary encoder parses none.
 */
function validTime(date: Date): number {
  const t = date instanceof Date ? date.getTime() : NaN;
  return Number.isFinite(t) ? t : Date.now();
}

function text(value: string | undefined | null): string | null {
  if (value === undefined || value === null) return null;
  let s = String(value);
  if (s.includes('\u0000')) s = s.replaceAll('\u0000', '');
  return s.length > MAX_TEXT_LENGTH ? s.slice(0, MAX_TEXT_LENGTH) : s;
}

function int(value: number | undefined | null): number | null {
  if (value === undefined || value === null || !Number.isFinite(value)) return null;
  return Math.min(INT4_MAX, Math.max(0, Math.round(value)));
}

/** Exact cents for NUMERIC; null when the amount is not a finite number. */
function cents(nanoCents: number): string | null {
  return Number.isFinite(nanoCents) ? formatNanoCentsAsCents(nanoCents) : null;
}

function json(value: Record<string, unknown> | undefined): string | null {
  if (value === undefined || value === null) return null;
  let serialised: string | undefined;
  try {
    serialised = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'string') return v.includes('\u0000') ? v.replaceAll('\u0000', '') : v;
      if (typeof v === 'bigint') return v.toString();
      return v;
    });
  } catch {
    return JSON.stringify({ _unserializable: true });
  }
  if (serialised === undefined) return null;
  if (serialised.length > MAX_ATTRIBUTES_JSON_LENGTH) {
    return JSON.stringify({ _truncated: true, _length: serialised.length });
  }
  return serialised;
}
