import type { Attributes, Context, Span, SpanContext, Tracer } from '@opentelemetry/api';
import {
  nanoCentsToCents,
  type MonitoringEvent,
  type AgentExecutionEvent,
  type HttpRequestEvent,
  type LlmCallEvent,
  type ToolCallEvent,
  type WorkflowRunEvent,
} from '../events/monitoring-event';
import type { MonitoringSink } from '../events/monitoring-sink.interface';
import { spanIdToHex64 } from './trace-ids';

/** The parts of `@opentelemetry/api` the sink uses (loaded only when the sink is on). */
export interface OtelApi {
  trace: {
    setSpan(context: Context, span: Span): Context;
    setSpanContext(context: Context, spanContext: SpanContext): Context;
    getSpanContext(context: Context): SpanContext | undefined;
  };
  ROOT_CONTEXT: Context;
  SpanKind: { SERVER: number; CLIENT: number; INTERNAL: number };
  SpanStatusCode: { ERROR: number };
}

/** Sets the ids the next span gets, for a tracer whose id generator reads them (the module's own exporter). */
export interface SpanIdSlot {
  next(traceId: string, spanId: string): void;
}

/** Options of the OpenTelemetry sink. */
export interface OtelSpanSinkOptions {
  /** Export prompt and completion text (only when the app opted in with `logPrompts`). */
  exportPrompts: boolean;
  /** Most events held while waiting for the end of their root operation. */
  maxPendingEvents?: number;
  /** Longest wait for a root operation, in milliseconds; then held events are sent without it. */
  maxPendingMs?: number;
}

/** Pinned version of the OpenTelemetry semantic conventions the spans follow. */
export const OTEL_SEMCONV_VERSION = '1.41.0';

interface Pending {
  event: MonitoringEvent;
  receivedAt: number;
}

const EMITTED_CACHE = 10_000;

/**
 * Sends every event as an OpenTelemetry span, nested as in the run tree and named and attributed
 * after the GenAI semantic conventions (`invoke_workflow`, `invoke_agent`, `chat`, `execute_tool`).
 *
 * Operations finish inside out (an LLM call before its agent), while a span needs its parent to
 * exist. So the sink holds the events of a tree until its root finishes — the HTTP request, or a
 * workflow or agent run outside any request — then starts and ends the spans top-down with their
 * recorded start and end times. Memory is bounded: past `maxPendingEvents`, or after
 * `maxPendingMs` without their root, held events are sent under a parent context made from the
 * recorded ids. Events finishing after their root (fire-and-forget work) join the span their
 * parent became.
 */
export class OtelSpanSink implements MonitoringSink {
  readonly name = 'otel';
  /** Events waiting for their parent, by the parent's span id. */
  private readonly waiting = new Map<string, Pending[]>();
  private pendingCount = 0;
  /** Span contexts of recently sent spans, by this module's span id (for late children). */
  private readonly sent = new Map<string, SpanContext>();
  private readonly maxPending: number;
  private readonly maxPendingMs: number;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly api: OtelApi,
    private readonly tracer: Tracer,
    private readonly options: OtelSpanSinkOptions,
    private readonly ids?: SpanIdSlot,
  ) {
    this.maxPending = options.maxPendingEvents ?? 10_000;
    this.maxPendingMs = options.maxPendingMs ?? 60_000;
  }

  record(event: MonitoringEvent): void {
    const parent = event.parentSpanId;
    if (parent !== undefined && !this.sent.has(parent)) {
      // The parent is still running: wait for it.
      let list = this.waiting.get(parent);
      if (!list) this.waiting.set(parent, (list = []));
      list.push({ event, receivedAt: Date.now() });
      if (++this.pendingCount > this.maxPending) this.sendOldest();
      this.sweepTimer ??= setTimeout(this.sweep, Math.min(this.maxPendingMs, 10_000)).unref();
      return;
    }
    const parentContext = parent !== undefined ? this.contextOf(this.sent.get(parent)!) : this.rootContext(event);
    this.emit(event, parentContext);
  }

  /** Sends everything held, under contexts made from the recorded ids (at shutdown). */
  flush(): void {
    for (const parent of [...this.waiting.keys()]) this.sendWaiting(parent);
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Held events (for tests and metrics). */
  get pending(): number {
    return this.pendingCount;
  }

  private emit(event: MonitoringEvent, parentContext: Context): void {
    const http = event.kind === 'http_request' ? event : undefined;
    // With the app's own HTTP server span as the parent, the module does not send a second one.
    const skip = http !== undefined && http.otelServerSpan === true;
    let childContext = parentContext;
    if (!skip) {
      const span = this.startSpan(event, parentContext);
      childContext = this.api.trace.setSpan(parentContext, span);
      if (event.spanId !== undefined) this.remember(event.spanId, span.spanContext());
    } else if (event.spanId !== undefined) {
      const parentSpan = this.api.trace.getSpanContext(parentContext);
      if (parentSpan) this.remember(event.spanId, parentSpan);
    }
    if (event.spanId === undefined) return;
    const children = this.waiting.get(event.spanId);
    if (!children) return;
    this.waiting.delete(event.spanId);
    this.pendingCount -= children.length;
    for (const child of children) this.emit(child.event, childContext);
  }

  private startSpan(event: MonitoringEvent, parentContext: Context): Span {
    const start = event.startedAt.getTime();
    const traceId = event.context.traceId;
    if (this.ids && traceId !== undefined && event.spanId !== undefined)
      this.ids.next(traceId, spanIdToHex64(event.spanId));
    const { name, kind, attributes } = this.describe(event);
    const span = this.tracer.startSpan(name, { kind, startTime: start, attributes }, parentContext);
    if (event.error) {
      span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: event.error.message });
    } else if (event.kind === 'workflow_run' && event.status !== 'completed') {
      span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: event.status });
    } else if (event.kind === 'http_request' && event.statusCode >= 500) {
      span.setStatus({ code: this.api.SpanStatusCode.ERROR });
    }
    span.end(start + event.durationMs);
    return span;
  }

  private describe(event: MonitoringEvent): { name: string; kind: number; attributes: Attributes } {
    const kinds = this.api.SpanKind;
    const attributes: Attributes = {};
    const c = event.context;
    if (c.requestId !== undefined) attributes['magure.request_id'] = c.requestId;
    if (event.spanId !== undefined) attributes['magure.span_id'] = event.spanId;
    if (c.userId !== undefined) attributes['user.id'] = c.userId;
    if (c.tenantId !== undefined) attributes['magure.tenant_id'] = c.tenantId;
    if (c.sessionId !== undefined) attributes['session.id'] = c.sessionId;
    if (event.error) attributes['error.type'] = event.error.type;
    switch (event.kind) {
      case 'llm_call':
        return { name: `chat ${event.model}`, kind: kinds.CLIENT, attributes: this.llm(event, attributes) };
      case 'agent_execution':
        return { name: `invoke_agent ${event.agentId}`, kind: kinds.INTERNAL, attributes: agent(event, attributes) };
      case 'tool_call':
        return { name: `execute_tool ${event.toolName}`, kind: kinds.INTERNAL, attributes: this.tool(event, attributes) };
      case 'workflow_run':
        return { name: `invoke_workflow ${event.workflowId}`, kind: kinds.INTERNAL, attributes: workflow(event, attributes) };
      case 'http_request':
        return { name: `${event.method} ${event.route}`, kind: kinds.SERVER, attributes: httpServer(event, attributes) };
    }
  }

  private llm(e: LlmCallEvent, a: Attributes): Attributes {
    a['gen_ai.operation.name'] = 'chat';
    a['gen_ai.provider.name'] = e.provider;
    a['gen_ai.request.model'] = e.model;
    a['gen_ai.response.model'] = e.model;
    if (e.usage) {
      a['gen_ai.usage.input_tokens'] = e.usage.inputTokens;
      a['gen_ai.usage.output_tokens'] = e.usage.outputTokens;
      if (e.usage.cachedInputTokens > 0) a['gen_ai.usage.cache_read.input_tokens'] = e.usage.cachedInputTokens;
      if (e.usage.cacheWriteInputTokens > 0)
        a['gen_ai.usage.cache_creation.input_tokens'] = e.usage.cacheWriteInputTokens;
    }
    if (e.costNanoCents !== null) a['magure.cost_cents'] = nanoCentsToCents(e.costNanoCents);
    if (e.streamed) a['magure.streamed'] = true;
    if (e.timeToFirstChunkMs !== undefined) a['magure.time_to_first_chunk_ms'] = e.timeToFirstChunkMs;
    if (e.context.agentId !== undefined) a['gen_ai.agent.id'] = e.context.agentId;
    if (this.options.exportPrompts) {
      if (e.prompt !== undefined) a['gen_ai.input.messages'] = e.prompt;
      if (e.completion !== undefined) a['gen_ai.output.messages'] = e.completion;
    }
    return a;
  }

  private tool(e: ToolCallEvent, a: Attributes): Attributes {
    a['gen_ai.operation.name'] = 'execute_tool';
    a['gen_ai.tool.name'] = e.toolName;
    if (e.agentId !== undefined) a['gen_ai.agent.id'] = e.agentId;
    if (e.inputSize !== undefined) a['magure.tool.input_size'] = e.inputSize;
    if (e.outputSize !== undefined) a['magure.tool.output_size'] = e.outputSize;
    if (this.options.exportPrompts) {
      if (e.input !== undefined) a['gen_ai.tool.call.arguments'] = e.input;
      if (e.output !== undefined) a['gen_ai.tool.call.result'] = e.output;
    }
    return a;
  }

  private rootContext(event: MonitoringEvent): Context {
    const traceId = event.context.traceId;
    const remote = event.kind === 'http_request' ? event.remoteParentSpanId : undefined;
    if (traceId === undefined || remote === undefined) return this.api.ROOT_CONTEXT;
    return this.contextOf({ traceId, spanId: remote, traceFlags: 1, isRemote: true });
  }

  private contextOf(spanContext: SpanContext): Context {
    return this.api.trace.setSpanContext(this.api.ROOT_CONTEXT, spanContext);
  }

  private remember(spanId: string, spanContext: SpanContext): void {
    if (this.sent.size >= EMITTED_CACHE) this.sent.delete(this.sent.keys().next().value!);
    this.sent.set(spanId, spanContext);
  }

  /** Sends the children waiting for a parent that has not (or not yet) been sent. */
  private sendWaiting(parentSpanId: string): void {
    const list = this.waiting.get(parentSpanId);
    if (!list || list.length === 0) return;
    const traceId = list[0]!.event.context.traceId;
    const parentContext =
      traceId === undefined
        ? this.api.ROOT_CONTEXT
        : this.contextOf({ traceId, spanId: spanIdToHex64(parentSpanId), traceFlags: 1, isRemote: true });
    this.waiting.delete(parentSpanId);
    this.pendingCount -= list.length;
    for (const child of list) this.emit(child.event, parentContext);
  }

  private sendOldest(): void {
    const oldest = this.waiting.keys().next();
    if (!oldest.done) this.sendWaiting(oldest.value);
  }

  private readonly sweep = () => {
    this.sweepTimer = undefined;
    const cutoff = Date.now() - this.maxPendingMs;
    for (const [parent, list] of this.waiting) if (list[0]!.receivedAt <= cutoff) this.sendWaiting(parent);
    if (this.pendingCount > 0) this.sweepTimer = setTimeout(this.sweep, Math.min(this.maxPendingMs, 10_000)).unref();
  };
}

function agent(e: AgentExecutionEvent, a: Attributes): Attributes {
  a['gen_ai.operation.name'] = 'invoke_agent';
  a['gen_ai.agent.id'] = e.agentId;
  a['gen_ai.agent.name'] = e.agentId;
  a['magure.agent.type'] = e.agentType;
  a['magure.llm_calls'] = e.llmCallsCount;
  a['magure.tool_calls'] = e.toolCallsCount;
  a['magure.tokens'] = e.tokensUsed;
  a['magure.cost_cents'] = nanoCentsToCents(e.costNanoCents);
  return a;
}

function workflow(e: WorkflowRunEvent, a: Attributes): Attributes {
  a['gen_ai.operation.name'] = 'invoke_workflow';
  a['gen_ai.workflow.name'] = e.workflowId;
  a['magure.workflow.run_id'] = e.runId;
  a['magure.workflow.status'] = e.status;
  a['magure.workflow.steps_executed'] = e.stepsExecuted;
  a['magure.workflow.steps_failed'] = e.stepsFailed;
  a['magure.tokens'] = e.tokensUsed;
  a['magure.cost_cents'] = nanoCentsToCents(e.costNanoCents);
  if (e.status === 'timeout' && a['error.type'] === undefined) a['error.type'] = 'timeout';
  return a;
}

function httpServer(e: HttpRequestEvent, a: Attributes): Attributes {
  a['http.request.method'] = e.method;
  a['http.route'] = e.route;
  a['url.path'] = e.path;
  a['http.response.status_code'] = e.statusCode;
  if (e.clientIp !== undefined) a['client.address'] = e.clientIp;
  if (e.userAgent !== undefined) a['user_agent.original'] = e.userAgent;
  if (e.statusCode >= 500 && a['error.type'] === undefined) a['error.type'] = String(e.statusCode);
  return a;
}
