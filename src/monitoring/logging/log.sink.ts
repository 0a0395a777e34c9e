import type { Logger } from 'pino';
import {
  nanoCentsToCents,
  type AgentExecutionEvent,
  type ContextSnapshot,
  type EventError,
  type HttpRequestEvent,
  type LlmCallEvent,
  type MonitoringEvent,
  type ToolCallEvent,
  type WorkflowRunEvent,
} from '../events/monitoring-event';
import type { MonitoringSink } from '../events/monitoring-sink.interface';
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
type Line = Record<string, unknown>;

/**
 * Writes one JSON line per finished operation, with a stable `event` name and flat snake_case
 * fields (`| json | agent_id="kpi-calculator"` works on them as they are). This sink also writes
 * the one access-log line of each HTTP request (`http_request`), from the same event the metrics
 * are computed from.
 *
 * Lines go through a dedicated pino logger without mixin or object walk: every field comes from
 * the event, and only user-supplied `attributes` are checked for secrets.
 */
export class LogSink implements MonitoringSink {
  readonly name = 'logs';
  private readonly maxPrompt: number;

  constructor(
    private readonly logger: Logger,
    private readonly options: LogSinkOptions,
    private readonly secrets: SecretKeyMatcher,
  ) {
    this.maxPrompt = options.logPromptMaxLength;
  }

  record(event: MonitoringEvent): void {
    switch (event.kind) {
      case 'llm_call':
        return this.llmCall(event);
      case 'agent_execution':
        return this.agentExecution(event);
      case 'tool_call':
        return this.toolCall(event);
      case 'workflow_run':
        return this.workflowRun(event);
      case 'http_request':
        return this.httpRequest(event);
    }
  }

  private llmCall(e: LlmCallEvent): void {
    const level: Level = e.success ? 'info' : 'error';
    if (!this.logger.isLevelEnabled(level)) return;
    const c = e.context;
    const u = e.usage;
    const line: Line = {
      event: e.success ? LOG_EVENT_NAMES.llmCompleted : LOG_EVENT_NAMES.llmFailed,
      provider: e.provider,
      model: e.model,
      prompt_tokens: u?.inputTokens,
      completion_tokens: u?.outputTokens,
      cached_prompt_tokens: u && u.cachedInputTokens > 0 ? u.cachedInputTokens : undefined,
      reasoning_tokens: u && u.reasoningTokens > 0 ? u.reasoningTokens : undefined,
      latency_ms: round(e.durationMs),
      cost_cents: e.costNanoCents === null ? undefined : nanoCentsToCents(e.costNanoCents),
      streamed: e.streamed,
      time_to_first_chunk_ms: e.timeToFirstChunkMs === undefined ? undefined : round(e.timeToFirstChunkMs),
      request_id: c.requestId,
      workflow_id: c.workflowId,
      workflow_run_id: c.workflowRunId,
      agent_id: c.agentId,
      user_id: c.userId,
      tenant_id: c.tenantId,
      session_id: c.sessionId,
    };
    if (e.error) this.addError(line, e.error);
    if (this.options.logPrompts) {
      if (e.prompt !== undefined) this.addText(line, 'prompt', e.prompt);
      if (e.completion !== undefined) this.addText(line, 'completion', e.completion);
    }
    if (e.attributes) this.addAttributes(line, e.attributes);
    this.logger[level](line);
  }

  private agentExecution(e: AgentExecutionEvent): void {
    const level: Level = e.success ? 'info' : 'error';
    if (!this.logger.isLevelEnabled(level)) return;
    const c = e.context;
    const line: Line = {
      event: e.success ? LOG_EVENT_NAMES.agentCompleted : LOG_EVENT_NAMES.agentFailed,
      agent_id: e.agentId,
      agent_type: e.agentType,
      latency_ms: round(e.durationMs),
      llm_calls_count: e.llmCallsCount,
      tool_calls_count: e.toolCallsCount,
      tokens_used: e.tokensUsed,
      cost_cents: nanoCentsToCents(e.costNanoCents),
      request_id: c.requestId,
      workflow_id: c.workflowId,
      workflow_run_id: c.workflowRunId,
      user_id: c.userId,
      tenant_id: c.tenantId,
      session_id: c.sessionId,
    };
    if (e.error) this.addError(line, e.error);
    if (e.attributes) this.addAttributes(line, e.attributes);
    this.logger[level](line);
  }

  private toolCall(e: ToolCallEvent): void {
    const level: Level = e.success ? 'info' : 'error';
    if (!this.logger.isLevelEnabled(level)) return;
    const c = e.context;
    const line: Line = {
      event: e.success ? LOG_EVENT_NAMES.toolCompleted : LOG_EVENT_NAMES.toolFailed,
      tool_name: e.toolName,
      latency_ms: round(e.durationMs),
      agent_id: e.agentId ?? c.agentId,
      request_id: c.requestId,
      workflow_id: c.workflowId,
      workflow_run_id: c.workflowRunId,
      user_id: c.userId,
      tenant_id: c.tenantId,
      session_id: c.sessionId,
    };
    if (e.error) this.addError(line, e.error);
    if (e.attributes) this.addAttributes(line, e.attributes);
    this.logger[level](line);
  }

  private workflowRun(e: WorkflowRunEvent): void {
    const level: Level = e.status === 'completed' ? 'info' : 'error';
    if (!this.logger.isLevelEnabled(level)) return;
    const c = e.context;
    const line: Line = {
      event:
        e.status === 'completed'
          ? LOG_EVENT_NAMES.workflowCompleted
          : e.status === 'timeout'
            ? LOG_EVENT_NAMES.workflowTimeout
            : LOG_EVENT_NAMES.workflowFailed,
      workflow_id: e.workflowId,
      workflow_run_id: e.runId,
      status: e.status,
      duration_ms: round(e.durationMs),
      steps_executed: e.stepsExecuted,
      steps_failed: e.stepsFailed,
      llm_calls_count: e.llmCallsCount,
      tokens_used: e.tokensUsed,
      cost_cents: nanoCentsToCents(e.costNanoCents),
      request_id: c.requestId,
      agent_id: c.agentId,
      user_id: c.userId,
      tenant_id: c.tenantId,
      session_id: c.sessionId,
    };
    if (e.error) this.addError(line, e.error);
    if (e.attributes) this.addAttributes(line, e.attributes);
    this.logger[level](line);
  }

  private httpRequest(e: HttpRequestEvent): void {
    const level: Level = e.statusCode >= 500 ? 'error' : e.statusCode >= 400 ? 'warn' : 'info';
    if (!this.logger.isLevelEnabled(level)) return;
    const c: ContextSnapshot = e.context;
    const line: Line = {
      event: LOG_EVENT_NAMES.httpRequest,
      method: e.method,
      route: e.route,
      path: e.path,
      status_code: e.statusCode,
      duration_ms: round(e.durationMs),
      client_ip: e.clientIp,
      user_agent: e.userAgent,
      aborted: e.aborted ? true : undefined,
      request_id: c.requestId,
      user_id: c.userId,
      tenant_id: c.tenantId,
      session_id: c.sessionId,
    };
    if (e.error) this.addError(line, e.error);
    if (e.attributes) this.addAttributes(line, e.attributes);
    this.logger[level](line);
  }

  /** Error class and message; the stack only when debug lines are written. */
  private addError(line: Line, error: EventError): void {
    line.error_type = error.type;
    line.error_message = error.message;
    if (error.stack !== undefined && this.logger.isLevelEnabled('debug')) line.error_stack = error.stack;
  }

  private addText(line: Line, key: 'prompt' | 'completion', text: string): void {
    if (text.length > this.maxPrompt) {
      line[key] = text.slice(0, this.maxPrompt);
      line[`${key}_truncated`] = true;
      line[`${key}_length`] = text.length;
    } else {
      line[key] = text;
    }
  }

  /** Decorator attributes, flat beside the event's fields (which they never replace), secrets redacted. */
  private addAttributes(line: Line, attributes: Record<string, unknown>): void {
    const safe = redactSecrets(attributes, this.secrets) as Record<string, unknown>;
    for (const key of Object.keys(safe)) {
      if (!(key in line)) line[key] = safe[key];
    }
  }
}

/** Milliseconds to the microsecond: enough for any latency, without float noise in the line. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
