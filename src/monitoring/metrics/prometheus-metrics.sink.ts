import { Counter, type Registry } from 'prom-client';
import type { EventFanOut } from '../events/event-fan-out';
import {
  UNMATCHED_ROUTE,
  isUnpriced,
  isUsageMissing,
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
import { HistogramMetric, ValueMetric, type HistogramSeries, type ValueSeries } from './pre-aggregated-metrics';

/** Separator of label values in series keys (cannot appear in a folded label value's meaning). */
const SEP = '\u0001';

/** Every series of one provider/model pair; request, cost and unpriced series appear on first use. */
interface LlmSeries {
  key: string;
  duration: HistogramSeries;
  prompt: ValueSeries;
  completion: ValueSeries;
  ok: ValueSeries | undefined;
  failed: ValueSeries | undefined;
  cost: ValueSeries | undefined;
  unpriced: ValueSeries | undefined;
  usageMissing: ValueSeries | undefined;
}

/** Every series of one method/route pair. */
interface HttpSeries {
  key: string;
  endpoint: string;
  duration: HistogramSeries;
  byStatus: Map<number, ValueSeries>;
  inProgress: ValueSeries | undefined;
}

const status = (success: boolean) => (success ? 'success' : 'failure');

/**
 * Turns events into the design's Prometheus metrics on the module's own registry. Every label that
 * carries an id goes through a cardinality cap.
 */
export class PrometheusMetricsSink implements MonitoringSink {
  readonly name = 'metrics';

  private readonly httpRequests: ValueMetric;
  private readonly httpDuration: HistogramMetric;
  private readonly httpInProgress: ValueMetric;
  private readonly agentExecutions: ValueMetric;
  private readonly agentDuration: HistogramMetric;
  private readonly toolCalls: ValueMetric;
  private readonly llmRequests: ValueMetric;
  private readonly llmDuration: HistogramMetric;
  private readonly llmTokens: ValueMetric;
  private readonly llmCost: ValueMetric;
  private readonly llmUnpriced: ValueMetric;
  private readonly llmUsageMissing: ValueMetric;
  private readonly llmUsageInvalid: ValueMetric;
  private readonly workflowExecutions: ValueMetric;
  private readonly workflowDuration: HistogramMetric;
  private readonly workflowsActive: ValueMetric;

  private readonly limiters = new Map<string, LabelValueLimiter>();
  private readonly llmSeries = new Map<string, Map<string, LlmSeries>>();
  private readonly httpSeries = new Map<string, Map<string, HttpSeries>>();

  constructor(
    registry: Registry,
    private readonly options: MonitoringOptions,
    fanOut: EventFanOut,
  ) {
    const p = options.metricsPrefix;
    const counter = (name: string, help: string) => new ValueMetric(`${p}${name}`, help, 'counter', registry);
    const gauge = (name: string, help: string) => new ValueMetric(`${p}${name}`, help, 'gauge', registry);
    const histogram = (name: string, help: string, buckets: number[]) =>
      new HistogramMetric(`${p}${name}`, help, buckets, registry);

    this.httpRequests = counter('http_requests_total', 'HTTP requests handled, by method, route template and status code.');
    this.httpDuration = histogram(
      'http_request_duration_seconds',
      'HTTP request duration in seconds, by method and route template.',
      HTTP_DURATION_BUCKETS,
    );
    // Counted from the fan-out's in-flight requests at scrape time: nothing per request.
    this.httpInProgress = new ValueMetric(
      `${p}http_requests_in_progress`,
      'HTTP requests being handled, by method and route template (counted once the route matched).',
      'gauge',
      registry,
      () => this.countInFlightRequests(fanOut),
    );
    this.agentExecutions = counter(
      'agent_executions_total',
      'Agent executions, by agent id, agent type and status (success|failure).',
    );
    this.agentDuration = histogram('agent_execution_duration_seconds', 'Agent execution duration in seconds.', LLM_DURATION_BUCKETS);
    this.toolCalls = counter('agent_tool_calls_total', 'Tool calls, by calling agent, tool name and status (success|failure).');
    this.llmRequests = counter('llm_requests_total', 'LLM calls, by provider, model and status (success|failure).');
    this.llmDuration = histogram(
      'llm_request_duration_seconds',
      'LLM call duration in seconds (streamed calls: until the stream ends).',
      LLM_DURATION_BUCKETS,
    );
    this.llmTokens = counter('llm_tokens_total', 'LLM tokens, by provider, model and token type (prompt|completion).');
    this.llmCost = counter('llm_cost_cents_total', 'Cost of LLM calls in US cents, from token counts and the pricing table.');
    this.llmUnpriced = counter(
      'llm_unpriced_calls_total',
      'Successful LLM calls with known usage but no known price for the model (their cost is unknown, not zero).',
    );
    this.llmUsageMissing = counter(
      'llm_usage_missing_total',
      'Successful LLM calls that reported no token usage (tokens and cost unknown), e.g. OpenAI streams without stream_options.include_usage.',
    );
    this.llmUsageInvalid = counter(
      'llm_usage_invalid_total',
      'LLM calls whose reported token usage was corrected (negative, not a number, too large, cached > prompt...), by reason.',
    );
    this.workflowExecutions = counter(
      'workflow_executions_total',
      'Workflow runs, by workflow id and final status (completed|failed|timeout).',
    );
    this.workflowDuration = histogram('workflow_duration_seconds', 'Workflow run duration in seconds.', LLM_DURATION_BUCKETS);
    this.workflowsActive = gauge('workflows_active', 'Workflow runs in progress.');
    this.workflowsActive.at('', () => ({}));

    const limiters = this.limiters;
    // Rarely-changing counters read from other components at scrape time: prom-client's API is fine here.
    new Counter({
      name: `${p}monitoring_errors_total`,
      help: 'Failures inside monitoring (a sink or an identity extractor) that were isolated from the observed call.',
      labelNames: ['source'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [source, count] of fanOut.sinkErrors) this.inc({ source }, count);
      },
    });
    new Counter({
      name: `${p}metric_label_values_folded_total`,
      help: 'Observations whose label value was replaced by "other" by the cardinality cap, by label.',
      labelNames: ['label'],
      registers: [registry],
      collect() {
        this.reset();
        for (const limiter of limiters.values()) if (limiter.folded > 0) this.inc({ label: limiter.label }, limiter.folded);
      },
    });
  }

  private fold(label: string, value: string): string {
    let limiter = this.limiters.get(label);
    if (!limiter) {
      limiter = new LabelValueLimiter(label, this.options.maxLabelValues, this.options.maxLabelValueLength);
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
    if (operation.kind === 'workflow_run') this.workflowsActive.at('', () => ({})).value += 1;
  }

  ended(operation: OperationStart): void {
    if (operation.kind === 'workflow_run') this.workflowsActive.at('', () => ({})).value -= 1;
  }

  /** Sets the in-progress gauge from the requests in flight whose route has matched. */
  private countInFlightRequests(fanOut: EventFanOut): void {
    for (const series of this.httpInProgress.all()) series.value = 0;
    for (const request of fanOut.httpInFlight) {
      const route = request.route;
      if (route === undefined) continue;
      const method = request.method;
      const s = this.httpSeriesFor(method, route);
      (s.inProgress ??= this.httpInProgress.at(s.key, () => ({ method, endpoint: s.endpoint }))).value += 1;
    }
  }

  /** Series of one method/route pair, found with two map lookups. */
  private httpSeriesFor(method: string, route: string): HttpSeries {
    const endpoint = this.fold('endpoint', route);
    let byEndpoint = this.httpSeries.get(method);
    if (byEndpoint === undefined) this.httpSeries.set(method, (byEndpoint = new Map()));
    let s = byEndpoint.get(endpoint);
    if (s === undefined) {
      const key = method + SEP + endpoint;
      s = { key, endpoint, duration: this.httpDuration.at(key, () => ({ method, endpoint })), byStatus: new Map(), inProgress: undefined };
      byEndpoint.set(endpoint, s);
    }
    return s;
  }

  private recordHttp(e: HttpRequestEvent): void {
    const s = this.httpSeriesFor(e.method, e.route);
    // Routes that served requests keep an in-progress series (at 0 when idle), so dashboards show
    // 0 rather than no data between requests.
    if (s.inProgress === undefined && e.route !== UNMATCHED_ROUTE) {
      const method = e.method;
      s.inProgress = this.httpInProgress.at(s.key, () => ({ method, endpoint: s.endpoint }));
    }
    let count = s.byStatus.get(e.statusCode);
    if (count === undefined) {
      const code = String(e.statusCode);
      const method = e.method;
      count = this.httpRequests.at(s.key + SEP + code, () => ({ method, endpoint: s.endpoint, status_code: code }));
      s.byStatus.set(e.statusCode, count);
    }
    count.value += 1;
    this.httpDuration.observe(s.duration, e.durationMs / 1000);
  }

  private recordLlm(e: LlmCallEvent): void {
    const provider = this.fold('provider', e.provider);
    const model = this.fold('model', e.model);
    // Series of one provider/model pair, found with two map lookups instead of hashing label sets.
    let byModel = this.llmSeries.get(provider);
    if (byModel === undefined) this.llmSeries.set(provider, (byModel = new Map()));
    let s = byModel.get(model);
    if (s === undefined) {
      const key = provider + SEP + model;
      const labels = () => ({ provider, model });
      s = {
        key,
        duration: this.llmDuration.at(key, labels),
        prompt: this.llmTokens.at(key + SEP + 'p', () => ({ provider, model, token_type: 'prompt' })),
        completion: this.llmTokens.at(key + SEP + 'c', () => ({ provider, model, token_type: 'completion' })),
        ok: undefined,
        failed: undefined,
        cost: undefined,
        unpriced: undefined,
        usageMissing: undefined,
      };
      byModel.set(model, s);
    }
    if (e.success) (s.ok ??= this.llmRequests.at(s.key + SEP + 'success', () => ({ provider, model, status: 'success' }))).value += 1;
    else (s.failed ??= this.llmRequests.at(s.key + SEP + 'failure', () => ({ provider, model, status: 'failure' }))).value += 1;
    this.llmDuration.observe(s.duration, e.durationMs / 1000);
    if (e.usageIssues !== undefined) {
      for (const reason of e.usageIssues) this.llmUsageInvalid.at(reason, () => ({ reason })).value += 1;
    }
    const usage = e.usage;
    if (usage === null) {
      if (isUsageMissing(e)) (s.usageMissing ??= this.llmUsageMissing.at(s.key, () => ({ provider, model }))).value += 1;
      return;
    }
    s.prompt.value += usage.inputTokens;
    s.completion.value += usage.outputTokens;
    if (e.costNanoCents !== null) {
      (s.cost ??= this.llmCost.at(s.key, () => ({ provider, model }))).value += nanoCentsToCents(e.costNanoCents);
    } else if (isUnpriced(e) && this.options.costTrackingEnabled) {
      (s.unpriced ??= this.llmUnpriced.at(s.key, () => ({ provider, model }))).value += 1;
    }
  }

  private recordAgent(e: AgentExecutionEvent): void {
    const agent_id = this.fold('agent_id', e.agentId);
    const agent_type = this.fold('agent_type', e.agentType);
    const key = agent_id + SEP + agent_type;
    const st = status(e.success);
    this.agentExecutions.at(key + SEP + st, () => ({ agent_id, agent_type, status: st })).value += 1;
    const d = this.agentDuration;
    d.observe(d.at(key, () => ({ agent_id, agent_type })), e.durationMs / 1000);
  }

  private recordTool(e: ToolCallEvent): void {
    const agent_id = this.fold('agent_id', e.agentId ?? 'none');
    const tool_name = this.fold('tool_name', e.toolName);
    const st = status(e.success);
    this.toolCalls.at(agent_id + SEP + tool_name + SEP + st, () => ({ agent_id, tool_name, status: st })).value += 1;
  }

  private recordWorkflow(e: WorkflowRunEvent): void {
    const workflow_id = this.fold('workflow_id', e.workflowId);
    const st = e.status;
    this.workflowExecutions.at(workflow_id + SEP + st, () => ({ workflow_id, status: st })).value += 1;
    const d = this.workflowDuration;
    d.observe(d.at(workflow_id, () => ({ workflow_id })), e.durationMs / 1000);
  }
}
