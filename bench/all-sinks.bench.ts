import 'reflect-metadata';
import { Writable } from 'node:stream';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { Registry } from 'prom-client';
import { AnalyticsMetrics } from '../src/monitoring/analytics/analytics.metrics';
import { AnalyticsSink } from '../src/monitoring/analytics/analytics.sink';
import type { AnalyticsBatchWriter } from '../src/monitoring/analytics/ingest/analytics-batch-writer';
import { AnalyticsWriteQueue } from '../src/monitoring/analytics/ingest/analytics-write-queue';
import { LogPipeline } from '../src/monitoring/logging/log-pipeline';
import { LogSink } from '../src/monitoring/logging/log.sink';
import { resolveMonitoringOptions } from '../src/monitoring/monitoring-options.resolver';
import { benchRuntime, PlainProvider, TrackedProvider } from './core.bench';
import { compare, row, us } from './measure';

const RESPONSE = {
  model: 'gpt-4o-2024-08-06',
  usage: {
    prompt_tokens: 1250,
    completion_tokens: 380,
    prompt_tokens_details: { cached_tokens: 0 },
  },
};
const REQUEST = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };

/** A stream that discards what it is given (the benchmark's /dev/null). */
const devNull = () =>
  new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });

/**
 * Rows leave the write-behind queue off the request path; the benchmark times the path a tracked
 * call pays for (mapping + enqueue), so batches are accepted at once here.
 */
const instantWriter: AnalyticsBatchWriter = {
  write: (_table, rows) => Promise.resolve({ inserted: rows.length, alreadyStored: 0 }),
};

/**
 * One tracked LLM call with every sink on (metrics, log line, analytics queue), and with the
 * metrics + queue path alone, beside the stack a team would otherwise assemble for the same call:
 * an OpenTelemetry span (BatchSpanProcessor, no-op exporter) plus one pino line with the same
 * fields. All variants run interleaved in one process; figures are medians of ns per call.
 */
export async function benchAllSinks(): Promise<{
  allSinksNs: number;
  metricsAndQueueNs: number;
  peerNs: number;
}> {
  const options = resolveMonitoringOptions(
    { logDestination: devNull(), priceCatalogueEnabled: false },
    {},
  );
  const queue = new AnalyticsWriteQueue(
    instantWriter,
    { capacity: 1_000_000, batchSize: 1000, flushIntervalMs: 1000 },
    new AnalyticsMetrics(new Registry(), 'bench_'),
  );
  queue.start();
  const logs = new LogPipeline(options);

  const plain = new PlainProvider(RESPONSE);
  const tracked = new TrackedProvider(RESPONSE);

  const metricsAndQueue = benchRuntime(() => [new AnalyticsSink(queue)]);
  const mq = await compare(
    { plain: () => plain.complete(REQUEST), tracked: () => tracked.complete(REQUEST) },
    50_000,
    7,
  );
  metricsAndQueue.stop();

  const all = benchRuntime(() => [
    new LogSink(logs, options, logs.secrets),
    new AnalyticsSink(queue),
  ]);
  const exporter: SpanExporter = {
    export: (_s: ReadableSpan[], done) => done({ code: 0 }),
    shutdown: () => Promise.resolve(),
  };
  const tracer = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(exporter)],
  }).getTracer('bench');
  const peerLogger = pino({}, devNull());
  const peerVariants = {
    plain: () => plain.complete(REQUEST),
    tracked: () => tracked.complete(REQUEST),
    peer: async () => {
      const span = tracer.startSpan('llm_call');
      const t0 = performance.now();
      const res = await plain.complete(REQUEST);
      const fields = {
        provider: 'openai',
        model: REQUEST.model,
        prompt_tokens: res.usage.prompt_tokens,
        completion_tokens: res.usage.completion_tokens,
        latency_ms: performance.now() - t0,
        cost_cents: 0.6925,
        request_id: 'req-abc123',
        agent_id: 'kpi-calculator',
        workflow_id: 'kpi-report',
        success: true,
      };
      span.setAttributes(fields);
      span.end();
      peerLogger.info(fields, 'llm_call_completed');
    },
  };
  const r = await compare(peerVariants, 50_000, 7);
  // The same, counting the work sinks defer off the caller's stack (log serialisation and write,
  // row mapping): the main thread pays for it between requests.
  const t = await compare(peerVariants, 50_000, 7, true);
  all.stop();
  await queue.drain(1000);
  await logs.onApplicationShutdown();

  const allSinksNs = r.tracked! - r.plain!;
  const peerNs = r.peer! - r.plain!;
  const metricsAndQueueNs = mq.tracked! - mq.plain!;
  const allSinksTotalNs = t.tracked! - t.plain!;
  const peerTotalNs = t.peer! - t.plain!;
  row('tracked LLM call, metrics + analytics queue: added (target < 2 µs)', us(metricsAndQueueNs));
  row('tracked LLM call, all sinks (metrics, log line, queue): added', us(allSinksNs));
  row('peer stack (OTel span + pino line, same fields): added', us(peerNs));
  row(
    "  all sinks / peer stack, on the caller's stack (target <= 0.5)",
    (allSinksNs / peerNs).toFixed(2),
  );
  row('tracked LLM call, all sinks, with deferred work: added', us(allSinksTotalNs));
  row('peer stack, with deferred work (BatchSpanProcessor): added', us(peerTotalNs));
  row(
    '  all sinks / peer stack, total main-thread work',
    (allSinksTotalNs / peerTotalNs).toFixed(2),
  );
  return { allSinksNs, metricsAndQueueNs, peerNs };
}
