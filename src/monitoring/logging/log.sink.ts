import {
  isUsageMissing,
  nanoCentsToCents,
  type AgentExecutionEvent,
  type ContextSnapshot,
  type HttpRequestEvent,
  type LlmCallEvent,
  type MonitoringEvent,
  type ToolCallEvent,
  type WorkflowRunEvent,
} from '../events/monitoring-event';
import type { MonitoringSink } from '../events/monitoring-sink.interface';
import { JsonLine } from './log-line-format';
import { redactSecrets, type SecretKeyMatcher } from './secret-redaction';

/** Options of the log sink (a subset of the module's options). */
export interface LogSinkOptions {
  logPrompts: boolean;
  logPromptMaxLength: number;
}

/** Stable event names of the lines this sink writes (the `event` field). */
export const LOG_EVENT_NAMES = {
  llmCompleted: 'llm_call_completed',
  llmFailed: 'llm_call_failed',
  agentCompleted: 'agent_execution_completed',
  agentFailed: 'agent_execution_failed',
  toolCompleted: 'tool_call_completed',
  toolFailed: 'tool_call_failed',
  workflowCompleted: 'workflow_completed',
  workflowFailed: 'workflow_failed',
  workflowTimeout: 'workflow_timeout',
  httpRequest: 'http_request',
} as const;

type Level = 'info' | 'warn' | 'error';

/** Where the sink writes: implemented by `LogPipeline`. */
export interface LogLineOutput {
  /** Whether lines of this level are written (the application logger's level). */
  isLevelEnabled(level: string): boolean;
  /** Writes finished lines (each newline-terminated) to every destination. */
  writeLines(lines: readonly string[]): void;
  /** Registers a function run before each application line is written, and at shutdown. */
  beforeApplicationLine(flush: () => void): void;
}

/** Events waiting to be written; beyond this many the caller writes them at once. */
const MAX_PENDING = 512;

/** Field names the sink writes; decorator attributes never replace them. */
const RESERVED = new Set([
  'level',
  'timestamp',
  'pid',
  'hostname',
  'msg',
  'event',
  'provider',
  'model',
  'prompt_tokens',
  'completion_tokens',
  'cached_prompt_tokens',
  'reasoning_tokens',
  'latency_ms',
  'duration_ms',
  'cost_cents',
  'usage_missing',
  'usage_invalid',
  'streamed',
  'time_to_first_chunk_ms',
  'trace_id',
  'span_id',
  'parent_span_id',
  'request_id',
  'workflow_id',
  'workflow_run_id',
  'agent_id',
  'agent_type',
  'user_id',
  'tenant_id',
  'session_id',
  'error_type',
  'error_message',
  'error_stack',
  'prompt',
  'completion',
  'prompt_truncated',
  'prompt_length',
  'completion_truncated',
  'completion_length',
  'llm_calls_count',
  'tool_calls_count',
  'tokens_used',
  'tool_name',
  'status',
  'steps_executed',
  'steps_failed',
  'method',
  'route',
  'path',
  'status_code',
  'client_ip',
  'user_agent',
  'aborted',
]);

/**
 * Writes one JSON line per finished operation, with a stable `event` name and flat snake_case
 * fields (`| json | agent_id="kpi-calculator"` works on them as they are). This sink also writes
 * the one access-log line of each HTTP request (`http_request`), from the same event the metrics
 * are computed from.
 *
 * Off the caller's stack: `record()` only checks the level and queues the event with its time.
 * Lines are serialized together right after the current tick (or when 512 are waiting, or before
 * the next application line, so the order of lines is kept, or at shutdown), by a serializer
 * specialised for these fields. Only user-supplied `attributes` are checked for secrets.
 */
export class LogSink implements MonitoringSink {
  readonly name = 'logs';
  private readonly maxPrompt: number;
  private events: MonitoringEvent[] = [];
  private times: number[] = [];
  private scheduled = false;
  private readonly flushSoon = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    private readonly output: LogLineOutput,
    private readonly options: LogSinkOptions,
    private readonly secrets: SecretKeyMatcher,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {
    this.maxPrompt = options.logPromptMaxLength;
    output.beforeApplicationLine(() => this.flush());
  }

  record(event: MonitoringEvent): void {
    if (!this.output.isLevelEnabled(levelOf(event))) return;
    this.events.push(event);
    this.times.push(Date.now());
    if (this.events.length >= MAX_PENDING) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  /** Writes the queued lines now. Never throws. */
  flush(): void {
    const events = this.events;
    if (events.length === 0) return;
    const times = this.times;
    this.events = [];
    this.times = [];
    const withStack = this.output.isLevelEnabled('debug');
    const lines: string[] = [];
    for (let i = 0; i < events.length; i++) {
      try {
        lines.push(this.format(events[i]!, times[i]!, withStack));
      } catch (error) {
        this.onError(error);
      }
    }
    try {
      this.output.writeLines(lines);
    } catch (error) {
      this.onError(error);
    }
  }

  /** The line of one event (exposed for tests and benchmarks). */
  format(event: MonitoringEvent, timeMs: number, withStack: boolean): string {
    const line = new JsonLine(levelOf(event), timeMs);
    switch (event.kind) {
      case 'llm_call':
        this.llmCall(line, event);
        break;
      case 'agent_execution':
        this.agentExecution(line, event);
        break;
      case 'tool_call':
        this.toolCall(line, event);
        break;
      case 'workflow_run':
        this.workflowRun(line, event);
        break;
      case 'http_request':
        this.httpRequest(line, event);
        break;
    }
    line.str('trace_id', event.context.traceId);
    line.str('span_id', event.spanId);
    line.str('parent_span_id', event.parentSpanId);
    if (event.error) {
      line.str('error_type', event.error.type);
      line.str('error_message', event.error.message);
      if (withStack) line.str('error_stack', event.error.stack);
    }
    if (event.attributes) this.addAttributes(line, event.attributes);
    return line.end();
  }

  private llmCall(line: JsonLine, e: LlmCallEvent): void {
    const c = e.context;
    const u = e.usage;
    line.str('event', e.success ? LOG_EVENT_NAMES.llmCompleted : LOG_EVENT_NAMES.llmFailed);
    line.str('provider', e.provider);
    line.str('model', e.model);
    if (u) {
      line.num('prompt_tokens', u.inputTokens);
      line.num('completion_tokens', u.outputTokens);
      if (u.cachedInputTokens > 0) line.num('cached_prompt_tokens', u.cachedInputTokens);
      if (u.reasoningTokens > 0) line.num('reasoning_tokens', u.reasoningTokens);
    }
    line.num('latency_ms', round(e.durationMs));
    if (e.costNanoCents !== null) line.num('cost_cents', nanoCentsToCents(e.costNanoCents));
    if (isUsageMissing(e)) line.bool('usage_missing', true);
    if (e.usageIssues !== undefined) line.str('usage_invalid', e.usageIssues.join(','));
    line.bool('streamed', e.streamed);
    if (e.timeToFirstChunkMs !== undefined)
      line.num('time_to_first_chunk_ms', round(e.timeToFirstChunkMs));
    line.str('request_id', c.requestId);
    line.str('workflow_id', c.workflowId);
    line.str('workflow_run_id', c.workflowRunId);
    line.str('agent_id', c.agentId);
    principal(line, c);
    if (this.options.logPrompts) {
      if (e.prompt !== undefined) this.addText(line, 'prompt', e.prompt);
      if (e.completion !== undefined) this.addText(line, 'completion', e.completion);
    }
  }

  private agentExecution(line: JsonLine, e: AgentExecutionEvent): void {
    const c = e.context;
    line.str('event', e.success ? LOG_EVENT_NAMES.agentCompleted : LOG_EVENT_NAMES.agentFailed);
    line.str('agent_id', e.agentId);
    line.str('agent_type', e.agentType);
    line.num('latency_ms', round(e.durationMs));
    line.num('llm_calls_count', e.llmCallsCount);
    line.num('tool_calls_count', e.toolCallsCount);
    line.num('tokens_used', e.tokensUsed);
    line.num('cost_cents', nanoCentsToCents(e.costNanoCents));
    line.str('request_id', c.requestId);
    line.str('workflow_id', c.workflowId);
    line.str('workflow_run_id', c.workflowRunId);
    principal(line, c);
  }

  private toolCall(line: JsonLine, e: ToolCallEvent): void {
    const c = e.context;
    line.str('event', e.success ? LOG_EVENT_NAMES.toolCompleted : LOG_EVENT_NAMES.toolFailed);
    line.str('tool_name', e.toolName);
    line.num('latency_ms', round(e.durationMs));
    line.str('agent_id', e.agentId ?? c.agentId);
    line.str('request_id', c.requestId);
    line.str('workflow_id', c.workflowId);
    line.str('workflow_run_id', c.workflowRunId);
    principal(line, c);
  }

  private workflowRun(line: JsonLine, e: WorkflowRunEvent): void {
    const c = e.context;
    line.str(
      'event',
      e.status === 'completed'
        ? LOG_EVENT_NAMES.workflowCompleted
        : e.status === 'timeout'
          ? LOG_EVENT_NAMES.workflowTimeout
          : LOG_EVENT_NAMES.workflowFailed,
    );
    line.str('workflow_id', e.workflowId);
    line.str('workflow_run_id', e.runId);
    line.str('status', e.status);
    line.num('duration_ms', round(e.durationMs));
    line.num('steps_executed', e.stepsExecuted);
    line.num('steps_failed', e.stepsFailed);
    line.num('llm_calls_count', e.llmCallsCount);
    line.num('tokens_used', e.tokensUsed);
    line.num('cost_cents', nanoCentsToCents(e.costNanoCents));
    line.str('request_id', c.requestId);
    line.str('agent_id', c.agentId);
    principal(line, c);
  }

  private httpRequest(line: JsonLine, e: HttpRequestEvent): void {
    const c: ContextSnapshot = e.context;
    line.str('event', LOG_EVENT_NAMES.httpRequest);
    line.str('method', e.method);
    line.str('route', e.route);
    line.str('path', e.path);
    line.num('status_code', e.statusCode);
    line.num('duration_ms', round(e.durationMs));
    line.str('client_ip', e.clientIp);
    line.str('user_agent', e.userAgent);
    if (e.aborted) line.bool('aborted', true);
    line.str('request_id', c.requestId);
    principal(line, c);
  }

  private addText(line: JsonLine, key: 'prompt' | 'completion', text: string): void {
    if (text.length > this.maxPrompt) {
      line.str(key, text.slice(0, this.maxPrompt));
      line.bool(`${key}_truncated`, true);
      line.num(`${key}_length`, text.length);
    } else {
      line.str(key, text);
    }
  }

  /** Decorator attributes, flat beside the event's fields (which they never replace), secrets redacted. */
  private addAttributes(line: JsonLine, attributes: Record<string, unknown>): void {
    const safe = redactSecrets(attributes, this.secrets) as Record<string, unknown>;
    for (const key of Object.keys(safe)) if (!RESERVED.has(key)) line.any(key, safe[key]);
  }
}

function levelOf(event: MonitoringEvent): Level {
  switch (event.kind) {
    case 'http_request':
      return event.statusCode >= 500 ? 'error' : event.statusCode >= 400 ? 'warn' : 'info';
    case 'workflow_run':
      return event.status === 'completed' ? 'info' : 'error';
    default:
      return event.success ? 'info' : 'error';
  }
}

function principal(line: JsonLine, c: ContextSnapshot): void {
  line.str('user_id', c.userId);
  line.str('tenant_id', c.tenantId);
  line.str('session_id', c.sessionId);
}

/** Milliseconds to the microsecond: enough for any latency, without float noise in the line. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
