import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EventFanOut } from '../events/event-fan-out';
import {
  nanoCentsToCents,
  type AgentExecutionEvent,
  type HttpRequestEvent,
  type LlmCallEvent,
  type MonitoringEvent,
  type OperationStart,
  type ToolCallEvent,
  type WorkflowRunEvent,
} from '../events/monitoring-event';
import type { MonitoringSink } from '../events/monitoring-sink.interface';
import type { MonitoringOptions } from '../monitoring-options.interface';
import { LabelValueLimiter } from './label-value-limiter';
import { HTTP_DURATION_BUCKETS, LLM_DURATION_BUCKETS } from './metric-buckets';

type Labels<K extends string> = Record<K, string>;

/**
 * Turns events into the design's Prometheus metrics on the module's own registry. Every label that
 * carries an id goes through a cardinality cap.
 */
export class PrometheusMetricsSink implements MonitoringSink {
  readonly name = 'metrics';

  private readonly httpRequests: Counter<'method' | 'endpoint' | 'status_code'>;
  private readonly httpDuration: Histogram<'method' | 'endpoint'>;
  private readonly httpInProgress: Gauge<'method' | 'endpoint'>;
  private readonly agentExecutions: Counter<'agent_id' | 'agent_type' | 'status'>;
  private readonly agentDuration: Histogram<'agent_id' | 'agent_type'>;
  private readonly toolCalls: Counter<'agent_id' | 'tool_name' | 'status'>;
  private readonly llmRequests: Counter<'provider' | 'model' | 'status'>;
  private readonly llmDuration: Histogram<'provider' | 'model'>;
  private readonly llmTokens: Counter<'provider' | 'model' | 'token_type'>;
  private readonly llmCost: Counter<'provider' | 'model'>;
  private readonly llmUnpriced: Counter<'provider' | 'model'>;
  private readonly workflowExecutions: Counter<'workflow_id' | 'status'>;
  private readonly workflowDuration: Histogram<'workflow_id'>;
  private readonly workflowsActive: Gauge;

  private readonly limiters = new Map<string, LabelValueLimiter>();

  constructor(
    registry: Registry,
    private readonly options: MonitoringOptions,
    fanOut: EventFanOut,
  ) {
    const p = options.metricsPrefix;
    const registers = [registry];
    this.httpRequests = new Counter({
      name: `${p}http_requests_total`,
      help: 'HTTP requests handled, by method, route template and status code.',
      labelNames: ['method', 'endpoint', 'status_code'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: `${p}http_request_duration_seconds`,
      help: 'HTTP request duration in seconds, by method and route template.',
      labelNames: ['method', 'endpoint'],
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    });
    this.httpInProgress = new Gauge({
      name: `${p}http_requests_in_progress`,
      help: 'HTTP requests being handled, by method and route template.',
      labelNames: ['method', 'endpoint'],
      registers,
    });
    this.agentExecutions = new Counter({
      name: `${p}agent_executions_total`,
      help: 'Agent executions, by agent id, agent type and status (success|failure).',
      labelNames: ['agent_id', 'agent_type', 'status'],
      registers,
    });
    this.agentDuration = new Histogram({
      name: `${p}agent_execution_duration_seconds`,
      help: 'Agent execution duration in seconds.',
      labelNames: ['agent_id', 'agent_type'],
      buckets: LLM_DURATION_BUCKETS,
      registers,
    });
    this.toolCalls = new Counter({
      name: `${p}agent_tool_calls_total`,
      help: 'Tool calls, by calling agent, tool name and status (success|failure).',
      labelNames: ['agent_id', 'tool_name', 'status'],
      registers,
    });
    this.llmRequests = new Counter({
      name: `${p}llm_requests_total`,
      help: 'LLM calls, by provider, model and status (success|failure).',
      labelNames: ['provider', 'model', 'status'],
      registers,
    });
    this.llmDuration = new Histogram({
      name: `${p}llm_request_duration_seconds`,
      help: 'LLM call duration in seconds (streamed calls: until the stream ends).',
      labelNames: ['provider', 'model'],
      buckets: LLM_DURATION_BUCKETS,
      registers,
    });
    this.llmTokens = new Counter({
      name: `${p}llm_tokens_total`,
      help: 'LLM tokens, by provider, model and token type (prompt|completion).',
      labelNames: ['provider', 'model', 'token_type'],
      registers,
    });
    this.llmCost = new Counter({
      name: `${p}llm_cost_cents_total`,
      help: 'Cost of LLM calls in US cents, from token counts and the pricing table.',
      labelNames: ['provider', 'model'],
      registers,
    });
    this.llmUnpriced = new Counter({
      name: `${p}llm_unpriced_calls_total`,
      help: 'LLM calls with usage but no known price (their cost is unknown, not zero).',
      labelNames: ['provider', 'model'],
      registers,
    });
    this.workflowExecutions = new Counter({
      name: `${p}workflow_executions_total`,
      help: 'Workflow runs, by workflow id and final status (completed|failed|timeout).',
      labelNames: ['workflow_id', 'status'],
      registers,
    });
    this.workflowDuration = new Histogram({
      name: `${p}workflow_duration_seconds`,
      help: 'Workflow run duration in seconds.',
      labelNames: ['workflow_id'],
      buckets: LLM_DURATION_BUCKETS,
      registers,
    });
    this.workflowsActive = new Gauge({
      name: `${p}workflows_active`,
      help: 'Workflow runs in progress.',
      registers,
    });
    const limiters = this.limiters;
    new Counter({
      name: `${p}monitoring_errors_total`,
      help: 'Failures inside monitoring (a sink or an identity extractor) that were isolated from the observed call.',
      labelNames: ['source'],
      registers,
      collect() {
        this.reset();
        for (const [source, count] of fanOut.sinkErrors) this.inc({ source }, count);
      },
    });
    new Counter({
      name: `${p}metric_label_values_folded_total`,
      help: 'Observations whose label value was replaced by "other" by the cardinality cap, by label.',
      labelNames: ['label'],
      registers,
      collect() {
        this.reset();
        for (const limiter of limiters.values()) if (limiter.folded > 0) this.inc({ label: limiter.label }, limiter.folded);
      },
    });
  }

  private fold(label: string, value: string): string {
    let limiter = this.limiters.get(label);
    if (!limiter) {
      limiter = new LabelValueLimiter(label, this.options.maxLabelValues);
      this.limiters.set(label, limiter);
    }
    return limiter.fold(value);
  }

  record(event: MonitoringEvent): void {
    switch (event.kind) {
      case 'http_request':
        return this.recordHttp(event);
      case 'llm_call':
        return this.recordLlm(event);
      case 'agent_execution':
        return this.recordAgent(event);
      case 'tool_call':
        return this.recordTool(event);
      case 'workflow_run':
        return this.recordWorkflow(event);
    }
  }

  started(operation: OperationStart): void {
    if (operation.kind === 'workflow_run') this.workflowsActive.inc();
    else this.httpInProgress.inc(this.httpLabels(operation.method, operation.route));
  }

  ended(operation: OperationStart): void {
    if (operation.kind === 'workflow_run') this.workflowsActive.dec();
    else this.httpInProgress.dec(this.httpLabels(operation.method, operation.route));
  }

  private httpLabels(method: string, route: string): Labels<'method' | 'endpoint'> {
    return { method, endpoint: this.fold('endpoint', route) };
  }

  private recordHttp(e: HttpRequestEvent): void {
    const labels = this.httpLabels(e.method, e.route);
    this.httpRequests.inc({ ...labels, status_code: String(e.statusCode) });
    this.httpDuration.observe(labels, e.durationMs / 1000);
  }

  private recordLlm(e: LlmCallEvent): void {
    const provider = this.fold('provider', e.provider);
    const model = this.fold('model', e.model);
    const labels = { provider, model };
    this.llmRequests.inc({ provider, model, status: e.success ? 'success' : 'failure' });
    this.llmDuration.observe(labels, e.durationMs / 1000);
    if (e.usage) {
      this.llmTokens.inc({ provider, model, token_type: 'prompt' }, e.usage.inputTokens);
      this.llmTokens.inc({ provider, model, token_type: 'completion' }, e.usage.outputTokens);
      if (e.costNanoCents !== null) this.llmCost.inc(labels, nanoCentsToCents(e.costNanoCents));
      else if (this.options.costTrackingEnabled) this.llmUnpriced.inc(labels);
    }
  }

  private recordAgent(e: AgentExecutionEvent): void {
    const agent_id = this.fold('agent_id', e.agentId);
    const agent_type = this.fold('agent_type', e.agentType);
    this.agentExecutions.inc({ agent_id, agent_type, status: e.success ? 'success' : 'failure' });
    this.agentDuration.observe({ agent_id, agent_type }, e.durationMs / 1000);
  }

  private recordTool(e: ToolCallEvent): void {
    this.toolCalls.inc({
      agent_id: this.fold('agent_id', e.agentId ?? 'none'),
      tool_name: this.fold('tool_name', e.toolName),
      status: e.success ? 'success' : 'failure',
    });
  }

  private recordWorkflow(e: WorkflowRunEvent): void {
    const workflow_id = this.fold('workflow_id', e.workflowId);
    this.workflowExecutions.inc({ workflow_id, status: e.status });
    this.workflowDuration.observe({ workflow_id }, e.durationMs / 1000);
  }
}
