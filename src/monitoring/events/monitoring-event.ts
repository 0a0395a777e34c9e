import type { UsageIssue } from '../llm-usage/usage-validation';

/**
 * The one event model. Every finished operation seen at a choke point becomes exactly one of these
 * events, and the fan-out hands it to every sink. Sinks read these plain objects and nothing else.
 */

/** Correlation identifiers copied from the active context when an operation finishes. */
export interface ContextSnapshot {
  /** W3C trace id (32 hex): the incoming `traceparent`'s when the request carried one, else a new one. */
  traceId?: string;
  requestId?: string;
  workflowId?: string;
  workflowRunId?: string;
  agentId?: string;
  agentType?: string;
  userId?: string;
  tenantId?: string;
  sessionId?: string;
}

/** How an operation failed: the error's class name and message (stack kept for debug-level logs). */
export interface EventError {
  type: string;
  message: string;
  stack?: string;
}

interface FinishedOperation {
  /**
   * The operation's own span id (a UUIDv7, also the id of its analytics row). Set by every choke
   * point; optional only for events built by hand.
   */
  spanId?: string;
  /** Span id of the enclosing tracked operation (workflow run, agent execution, tool call or request). */
  parentSpanId?: string;
  /** When the operation started. */
  startedAt: Date;
  /** Wall-clock duration in milliseconds (fractional). */
  durationMs: number;
  /** Correlation ids of the scope the operation ran in. */
  context: ContextSnapshot;
  /** Present when the operation failed. */
  error?: EventError;
  /** Extra attributes given through decorator options; stored as JSONB and logged flat. */
  attributes?: Record<string, unknown>;
}

/** Token counts, normalised across providers. `inputTokens` includes cached and cache-write tokens. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens served from the provider's prompt cache (subset of inputTokens). */
  cachedInputTokens: number;
  /** Input tokens written to the provider's prompt cache (Anthropic; subset of inputTokens). */
  cacheWriteInputTokens: number;
  /** Reasoning tokens (subset of outputTokens). */
  reasoningTokens: number;
}

export interface LlmCallEvent extends FinishedOperation {
  kind: 'llm_call';
  success: boolean;
  provider: string;
  model: string;
  /**
   * Validated token counts (whole numbers, never negative, subsets within their totals). Null when
   * the response carried no usage: for a failed call that is normal; for a successful call it is
   * the "usage missing" state (see `isUsageMissing`), in which tokens and cost are unknown.
   */
  usage: TokenUsage | null;
  /**
   * Exact cost in billionths of a US cent, never negative; null when the model has no known price
   * or the usage is missing.
   */
  costNanoCents: number | null;
  /** Corrections the usage validation made (e.g. `negative`); absent when the usage was valid. */
  usageIssues?: UsageIssue[];
  streamed: boolean;
  /** For streamed calls: milliseconds until the first streamed item arrived. */
  timeToFirstChunkMs?: number;
  /** Only present when prompt capture is enabled. */
  prompt?: string;
  /** Only present when completion capture is enabled. */
  completion?: string;
}

export interface AgentExecutionEvent extends FinishedOperation {
  kind: 'agent_execution';
  success: boolean;
  agentId: string;
  agentType: string;
  llmCallsCount: number;
  toolCallsCount: number;
  tokensUsed: number;
  /** Sum of the priced nested LLM calls, in billionths of a cent. */
  costNanoCents: number;
}

export interface ToolCallEvent extends FinishedOperation {
  kind: 'tool_call';
  success: boolean;
  toolName: string;
  agentId?: string;
  /** Characters of the input (JSON for objects); absent when it could not be measured. */
  inputSize?: number;
  /** Characters of the output (JSON for objects); absent when it could not be measured. */
  outputSize?: number;
  /** Only present when prompt capture (`logPrompts`) is enabled. */
  input?: string;
  /** Only present when prompt capture (`logPrompts`) is enabled. */
  output?: string;
}

export type WorkflowStatus = 'completed' | 'failed' | 'timeout';

export interface WorkflowRunEvent extends FinishedOperation {
  kind: 'workflow_run';
  workflowId: string;
  runId: string;
  status: WorkflowStatus;
  stepsExecuted: number;
  stepsFailed: number;
  llmCallsCount: number;
  tokensUsed: number;
  costNanoCents: number;
}

/** Route label of requests that matched no route (404s), so raw paths never become labels. */
export const UNMATCHED_ROUTE = 'unmatched';

export interface HttpRequestEvent extends FinishedOperation {
  kind: 'http_request';
  method: string;
  /** Route template (`/agents/:id/execute`), or `unmatched` when no route matched. */
  route: string;
  /** Raw URL path, without the query string. Never used as a metric label. */
  path: string;
  statusCode: number;
  clientIp?: string;
  userAgent?: string;
  /** True when the client went away before the response finished. */
  aborted: boolean;
  /**
   * The parent of the request outside this module (16 hex): the caller's span from an incoming
   * W3C `traceparent` header, or the app's own OpenTelemetry HTTP server span.
   */
  remoteParentSpanId?: string;
  /** True when the app's OpenTelemetry instrumentation made an HTTP server span for the request. */
  otelServerSpan?: boolean;
}

/** Any finished operation. Discriminate on `kind`. */
export type MonitoringEvent =
  | LlmCallEvent
  | AgentExecutionEvent
  | ToolCallEvent
  | WorkflowRunEvent
  | HttpRequestEvent;

export type MonitoringEventKind = MonitoringEvent['kind'];

/** An operation that has started but not finished: feeds in-progress gauges. */
export type OperationStart = { kind: 'workflow_run'; workflowId: string };

/**
 * An HTTP request being handled. Requests are not announced one by one: sinks read the fan-out's
 * set of them when they collect (the in-progress gauge at scrape time).
 */
export interface InFlightHttpRequest {
  readonly method: string;
  /** Route template once the router matched; undefined before that and for unmatched requests. */
  readonly route: string | undefined;
}

/** Billionths of a cent in one cent. */
export const NANO_CENTS_PER_CENT = 1_000_000_000;

/** Converts an exact nano-cent amount to cents (a float, for metrics and logs). */
export function nanoCentsToCents(nanoCents: number): number {
  return nanoCents / NANO_CENTS_PER_CENT;
}

/** Formats nano-cents as an exact decimal string of cents (`'0.0015'`), for NUMERIC columns. */
export function formatNanoCentsAsCents(nanoCents: number): string {
  const n = Math.round(nanoCents);
  if (Number.isSafeInteger(n)) {
    const abs = Math.abs(n);
    const whole = Math.floor(abs / NANO_CENTS_PER_CENT);
    let rest = abs - whole * NANO_CENTS_PER_CENT;
    const sign = n < 0 ? '-' : '';
    if (rest === 0) return `${sign}${whole}`;
    // Trailing zeros of the fraction are dropped as digits, not sliced off a string one by one.
    let digits = 9;
    while (rest % 10 === 0) {
      rest /= 10;
      digits--;
    }
    return `${sign}${whole}.${String(rest).padStart(digits, '0')}`;
  }
  const negative = nanoCents < 0;
  const abs = BigInt(Math.round(Math.abs(nanoCents)));
  const whole = abs / 1_000_000_000n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/**
 * A successful call whose token usage is unknown (e.g. an OpenAI stream without
 * `stream_options.include_usage`). Counted apart from unpriced calls.
 */
export function isUsageMissing(e: LlmCallEvent): boolean {
  return e.success && e.usage === null;
}

/**
 * A successful call with known usage whose model has no known price: its cost is unknown, not
 * zero. The same definition feeds `llm_unpriced_calls_total` and the API's `unpricedCalls`.
 */
export function isUnpriced(e: LlmCallEvent): boolean {
  return e.success && e.usage !== null && e.costNanoCents === null;
}

/** Total tokens of a usage record (input + output). */
export function totalTokens(usage: TokenUsage | null): number {
  return usage ? usage.inputTokens + usage.outputTokens : 0;
}
