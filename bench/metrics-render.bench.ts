import { Registry } from 'prom-client';
import { EventFanOut } from '../src/monitoring/events/event-fan-out';
import type { MonitoringEvent } from '../src/monitoring/events/monitoring-event';
import { PrometheusMetricsSink } from '../src/monitoring/metrics/prometheus-metrics.sink';
import { resolveMonitoringOptions } from '../src/monitoring/monitoring-options.resolver';
import { median, row } from './measure';

/**
 * `/metrics` at the cardinality caps: every bounded label (endpoint, agent_id, tool_name, model,
 * workflow_id) at `maxLabelValues` (default 200) distinct values of `maxLabelValueLength`
 * characters, each with its statuses; then the render time of the registry (median of 20) and the
 * size of the text Prometheus scrapes.
 */
export async function benchMetricsRender(): Promise<{ ms: number; bytes: number; series: number }> {
  const options = resolveMonitoringOptions({ priceCatalogueEnabled: false, defaultMetricsEnabled: false }, {});
  const registry = new Registry();
  const fanOut = new EventFanOut();
  const sink = new PrometheusMetricsSink(registry, options, fanOut);
  const cap = options.maxLabelValues;
  const long = (prefix: string, i: number) => `${prefix}-${i}-`.padEnd(options.maxLabelValueLength, 'x');
  const startedAt = new Date();
  const base = { startedAt, durationMs: 12.5, context: {} };
  for (let i = 0; i < cap; i++) {
    const events: MonitoringEvent[] = [];
    for (const statusCode of [200, 400, 500])
      events.push({ ...base, kind: 'http_request', method: 'POST', route: `/${long('route', i)}`, path: '/x', statusCode, aborted: false });
    for (const success of [true, false]) {
      events.push({ ...base, kind: 'agent_execution', success, agentId: long('agent', i), agentType: 'llm', llmCallsCount: 1, toolCallsCount: 1, tokensUsed: 10, costNanoCents: 1 });
      events.push({ ...base, kind: 'tool_call', success, toolName: long('tool', i), agentId: long('agent', i) });
      events.push({
        ...base, kind: 'llm_call', success, provider: 'openai', model: long('model', i), streamed: false, costNanoCents: 1,
        usage: { inputTokens: 10, outputTokens: 5, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0 },
      });
    }
    for (const status of ['completed', 'failed', 'timeout'] as const)
      events.push({ ...base, kind: 'workflow_run', workflowId: long('workflow', i), runId: `r${i}`, status, stepsExecuted: 1, stepsFailed: 0, llmCallsCount: 1, tokensUsed: 10, costNanoCents: 1 });
    for (const e of events) sink.record(e);
  }
  const text = await registry.metrics();
  const series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = process.hrtime.bigint();
    await registry.metrics();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const ms = median(times);
  const bytes = Buffer.byteLength(text);
  row(`/metrics at the caps (${cap} values x ${options.maxLabelValueLength} chars per label): render`, `${ms.toFixed(1)} ms`);
  row('  size, series', `${(bytes / 1024 / 1024).toFixed(2)} MiB, ${series} series`);
  return { ms, bytes, series };
}
