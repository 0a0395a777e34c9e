/**
 * Cost of the log line of one LLM call on the caller's thread, beside the "peer stack" a team
 * would otherwise use for the same call: an OpenTelemetry span (BasicTracerProvider +
 * BatchSpanProcessor, no-op exporter) plus one plain pino line with the same 10 fields.
 *
 * Run from the repository root:
 *   node -r ./src/monitoring/logging/typescript-worker-loader.cjs bench/logging.bench.ts
 *
 * Each case runs in a manual loop (warm-up, then several timed runs of many calls); the figure
 * is the median over runs of the mean time per call. Cases are interleaved run by run so that
 * drift (CPU frequency, GC) hits them alike.
 */
import { performance } from 'node:perf_hooks';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { Registry } from 'prom-client';
import { EventFanOut } from '../src/monitoring/events/event-fan-out';
import type { LlmCallEvent } from '../src/monitoring/events/monitoring-event';
import { LogPipeline } from '../src/monitoring/logging/log-pipeline';
import { LogSink } from '../src/monitoring/logging/log.sink';
import { PrometheusMetricsSink } from '../src/monitoring/metrics/prometheus-metrics.sink';
import { resolveMonitoringOptions } from '../src/monitoring/monitoring-options.resolver';
import type { MonitoringModuleOptions } from '../src/monitoring/monitoring-options.interface';

/** One measured case. */
export interface BenchCase {
  name: string;
  /** Median over runs of the mean time of one call, in nanoseconds. */
  medianNs: number;
  /** All runs, ns per call. */
  runsNs: number[];
}

export interface LoggingBenchResult {
  cases: BenchCase[];
  /** Cost of each case relative to the peer stack (span + plain pino line). */
  ratios: Record<string, number>;
}

const devNull = () => pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 });

function llmEvent(): LlmCallEvent {
  return {
    kind: 'llm_call',
    startedAt: new Date(),
    durationMs: 2340.5,
    context: {
      requestId: 'req-abc123',
      agentId: 'kpi-calculator',
      workflowId: 'kpi-report',
      workflowRunId: 'run-1',
    },
    success: true,
    provider: 'openai',
    model: 'gpt-4o',
    usage: {
      inputTokens: 1250,
      outputTokens: 380,
      cachedInputTokens: 0,
      cacheWriteInputTokens: 0,
      reasoningTokens: 0,
    },
    costNanoCents: 692_500_000,
    streamed: false,
  };
}

/** A log pipeline writing to /dev/null, and the log sink on it. */
function pipeline(options: MonitoringModuleOptions): { pipeline: LogPipeline; sink: LogSink } {
  const resolved = resolveMonitoringOptions({ logDestination: devNull(), ...options }, {});
  const p = new LogPipeline(resolved);
  return { pipeline: p, sink: new LogSink(p, resolved, p.secrets) };
}

/**
 * A measured case: `call` is timed; `between`, when given, runs untimed after every `batch`
 * calls (to time a queueing call without the work it defers).
 */
type Case = (() => void) | { call: () => void; between: () => void; batch: number };

/** Runs the cases interleaved; returns the median ns per call of each. */
async function measure(
  cases: Record<string, Case>,
  { runs = 9, callsPerRun = 50_000, warmup = 20_000 } = {},
): Promise<BenchCase[]> {
  const names = Object.keys(cases);
  const timeRun = (c: Case, calls: number): number => {
    if (typeof c === 'function') {
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) c();
      return performance.now() - t0;
    }
    let elapsed = 0;
    for (let done = 0; done < calls; done += c.batch) {
      const t0 = performance.now();
      for (let i = 0; i < c.batch; i++) c.call();
      elapsed += performance.now() - t0;
      c.between();
    }
    return elapsed;
  };
  for (const name of names) timeRun(cases[name]!, warmup);
  const samples = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let r = 0; r < runs; r++) {
    for (const name of names) {
      samples.get(name)!.push((timeRun(cases[name]!, callsPerRun) * 1e6) / callsPerRun);
      // Let asynchronous writers (sonic-boom, the transport, the span batch) do their share.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return names.map((name) => {
    const runsNs = samples.get(name)!;
    const sorted = [...runsNs].sort((a, b) => a - b);
    return { name, medianNs: sorted[Math.floor(sorted.length / 2)]!, runsNs };
  });
}

/** Measures the log line against the peer stack and prints the figures. */
export async function runLoggingBench(): Promise<LoggingBenchResult> {
  const event = llmEvent();

  // This module: the log sink alone, and with the recent-logs buffer and the Loki transport
  // (a worker thread; the URL points nowhere, the main-thread cost is the same).
  const { pipeline: plain, sink: sinkOnly } = pipeline({ recentLogsBufferSize: 0 });
  const { pipeline: full, sink: sinkFull } = pipeline({
    lokiEnabled: true,
    lokiUrl: 'http://127.0.0.1:9',
    lokiMaxRetries: 0,
    lokiMaxBufferedLines: 1000,
  });
  const metricsOptions = resolveMonitoringOptions({}, {});
  const metrics = new PrometheusMetricsSink(new Registry(), metricsOptions, new EventFanOut());

  // The peer stack.
  const exporter: SpanExporter = {
    export: (_spans: ReadableSpan[], done) => done({ code: 0 }),
    shutdown: () => Promise.resolve(),
  };
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  const tracer = provider.getTracer('bench');
  const peerLogger = pino({}, devNull());
  const fields = () => ({
    provider: 'openai',
    model: 'gpt-4o',
    prompt_tokens: 1250,
    completion_tokens: 380,
    latency_ms: 2340.5,
    cost_cents: 0.6925,
    request_id: 'req-abc123',
    agent_id: 'kpi-calculator',
    workflow_id: 'kpi-report',
    success: true,
  });

  // Application lines: secret walk (this module) versus pino `redact` paths, for the choice made.
  const appObject = () => ({
    user: { id: 7, name: 'ada', plan: 'pro' },
    headers: { accept: 'json', host: 'x' },
    step: 3,
  });
  const withWalk = pipeline({ recentLogsBufferSize: 0 }).pipeline.logger;
  const noRedaction = pino({ mixin: () => ({}) }, devNull());
  const redactPaths = pino(
    {
      redact: [
        'password',
        '*.password',
        '*.*.password',
        'token',
        '*.token',
        '*.*.token',
        'apiKey',
        '*.apiKey',
        '*.*.apiKey',
        'headers.authorization',
        'headers.cookie',
        'headers["x-api-key"]',
        '*.headers.authorization',
        '*.headers.cookie',
      ],
    },
    devNull(),
  );

  // The sink queues on the caller's stack and serializes right after the tick: "hot path" is the
  // queueing alone; "total" also serializes and writes within the timed call.
  const cases = await measure({
    'log line, hot path (LogSink.record)': {
      call: () => sinkOnly.record(event),
      between: () => sinkOnly.flush(),
      batch: 250,
    },
    'log line, total (record + serialize + write)': () => {
      sinkOnly.record(event);
      sinkOnly.flush();
    },
    'log line + recent buffer + Loki transport, total': () => {
      sinkFull.record(event);
      sinkFull.flush();
    },
    'metrics (PrometheusMetricsSink.record)': () => metrics.record(event),
    'peer: OTel span + plain pino line': () => {
      const span = tracer.startSpan('llm_call', { attributes: fields() });
      span.end();
      peerLogger.info(fields(), 'llm_call_completed');
    },
    'peer: OTel span only': () => tracer.startSpan('llm_call', { attributes: fields() }).end(),
    'peer: plain pino line only': () => peerLogger.info(fields(), 'llm_call_completed'),
    'app line: no redaction': () => noRedaction.info(appObject(), 'msg'),
    'app line: secret walk + context mixin (this module)': () => withWalk.info(appObject(), 'msg'),
    'app line: pino redact, 14 wildcard paths': () => redactPaths.info(appObject(), 'msg'),
  });

  const byName = Object.fromEntries(cases.map((c) => [c.name, c.medianNs]));
  const peer = byName['peer: OTel span + plain pino line']!;
  const metricsNs = byName['metrics (PrometheusMetricsSink.record)']!;
  const ratios: Record<string, number> = {
    'log line hot path / peer': byName['log line, hot path (LogSink.record)']! / peer,
    'log line total / peer': byName['log line, total (record + serialize + write)']! / peer,
    'log line with buffer and Loki, total / peer':
      byName['log line + recent buffer + Loki transport, total']! / peer,
    '(metrics + log line hot path) / peer':
      (metricsNs + byName['log line, hot path (LogSink.record)']!) / peer,
    '(metrics + log line with buffer and Loki, total) / peer':
      (metricsNs + byName['log line + recent buffer + Loki transport, total']!) / peer,
  };

  await provider.shutdown();
  await Promise.all([plain.onApplicationShutdown(), full.onApplicationShutdown()]);
  return { cases, ratios };
}

function print(result: LoggingBenchResult): void {
  const width = Math.max(...result.cases.map((c) => c.name.length));
  console.log(
    `node ${process.version}, ${process.arch}; median of ${result.cases[0]!.runsNs.length} runs, ns per call`,
  );
  for (const c of result.cases)
    console.log(`  ${c.name.padEnd(width)}  ${c.medianNs.toFixed(0).padStart(6)} ns`);
  for (const [name, ratio] of Object.entries(result.ratios))
    console.log(`  ${name}: ${ratio.toFixed(2)}`);
}

if (require.main === module) {
  runLoggingBench().then(
    (result) => {
      print(result);
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
