import 'reflect-metadata';
import { EventEmitter } from 'node:events';
import { Registry } from 'prom-client';
import { CostCalculator } from '../src/monitoring/cost/cost-calculator';
import { EventFanOut } from '../src/monitoring/events/event-fan-out';
import { activateRuntime, deactivateRuntime, MonitoringRuntime } from '../src/monitoring/instrumentation/monitoring-runtime';
import { RequestTrackingMiddleware } from '../src/monitoring/instrumentation/request-tracking.middleware';
import { LogPipeline } from '../src/monitoring/logging/log-pipeline';
import { TrackLLM } from '../src/monitoring/instrumentation/track-llm.decorator';
import { PrometheusMetricsSink } from '../src/monitoring/metrics/prometheus-metrics.sink';
import type { MonitoringSink } from '../src/monitoring/events/monitoring-sink.interface';
import { resolveMonitoringOptions } from '../src/monitoring/monitoring-options.resolver';
import { newTraceId } from '../src/monitoring/tracing/trace-ids';
import { uuidV7 } from '../src/monitoring/tracing/uuid-v7';
import { compare, row, us } from './measure';

const RESPONSE = {
  model: 'gpt-4o-mini-2024-07-18',
  usage: { prompt_tokens: 120, completion_tokens: 48, prompt_tokens_details: { cached_tokens: 0 } },
};
const REQUEST = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

/** An LLM provider answering at once with a fixed response, undecorated. */
export class PlainProvider<R = typeof RESPONSE> {
  readonly provider = 'openai';
  constructor(private readonly response: R = RESPONSE as R) {}
  async complete(_req: unknown): Promise<R> {
    return this.response;
  }
}

/** The same provider with `@TrackLLM()`. */
export class TrackedProvider<R = typeof RESPONSE> {
  readonly provider = 'openai';
  constructor(private readonly response: R = RESPONSE as R) {}
  @TrackLLM()
  async complete(_req: unknown): Promise<R> {
    return this.response;
  }
}

/** A runtime with the given sinks (the metrics sink always first), made current. */
export function benchRuntime(extraSinks: (fanOut: EventFanOut, options: ReturnType<typeof resolveMonitoringOptions>) => MonitoringSink[] = () => []) {
  const options = resolveMonitoringOptions({ priceCatalogueEnabled: false }, {});
  const fanOut = new EventFanOut();
  fanOut.addSink(new PrometheusMetricsSink(new Registry(), options, fanOut));
  for (const s of extraSinks(fanOut, options)) fanOut.addSink(s);
  const runtime = new MonitoringRuntime(fanOut, new CostCalculator({ catalogue: false }), options);
  activateRuntime(runtime);
  return { runtime, fanOut, options, stop: () => deactivateRuntime(runtime) };
}

/** Tracked LLM call vs the same undecorated call, metrics sink on. */
export async function benchTrackedLlmCall(): Promise<number> {
  const plain = new PlainProvider();
  const tracked = new TrackedProvider();
  const { stop } = benchRuntime();
  const r = await compare({
    plain: () => plain.complete(REQUEST),
    tracked: () => tracked.complete(REQUEST),
  });
  stop();
  const added = r.tracked! - r.plain!;
  row('undecorated async LLM call', us(r.plain!));
  row('@TrackLLM async call, metrics sink', us(r.tracked!));
  row('  added per tracked LLM call (target < 2 µs)', us(added));
  return added;
}

/** The decorator with no module initialised (pass-through), vs undecorated. */
export async function benchPassThrough(): Promise<number> {
  const plain = new PlainProvider();
  const tracked = new TrackedProvider();
  const r = await compare({ plain: () => plain.complete(REQUEST), tracked: () => tracked.complete(REQUEST) });
  row('  added by @TrackLLM without a module (pass-through)', us(r.tracked! - r.plain!));
  return r.tracked! - r.plain!;
}

/** The HTTP middleware per request: request scope, request id, the finish event, metrics. */
export async function benchHttpMiddleware(): Promise<number> {
  const { runtime, options, stop } = benchRuntime();
  const logs = new LogPipeline(options);
  const middleware = new RequestTrackingMiddleware(runtime, logs);
  const route = { path: '/agents/:id/execute' };
  const makeRes = () => {
    const res = new EventEmitter() as EventEmitter & Record<string, unknown>;
    res.statusCode = 200;
    res.headersSent = true;
    res.writableFinished = true;
    res.setHeader = () => undefined;
    return res;
  };
  const req = { method: 'POST', url: '/agents/a1/execute', originalUrl: '/agents/a1/execute', headers: {}, route, baseUrl: '', ip: '127.0.0.1' };
  const next = () => undefined;
  const r = await compare({
    baseline: () => {
      const res = makeRes();
      res.on('close', next);
      res.emit('finish');
      res.emit('close');
    },
    middleware: () => {
      const res = makeRes();
      middleware.use(req as never, res as never, next);
      res.emit('finish');
      res.emit('close');
    },
  }, 50_000);
  stop();
  await logs.onApplicationShutdown();
  const added = r.middleware! - r.baseline!;
  row('  added per HTTP request by the middleware (metrics sink)', us(added));
  return added;
}

/** The span id every event gets (a UUIDv7) and a new trace id (once per request without `traceparent`). */
export async function benchTraceIds(): Promise<number> {
  const r = await compare({ spanId: () => uuidV7(), traceId: () => newTraceId() }, 200_000);
  row('  span id per event (UUIDv7; target < 0.2 µs)', us(r.spanId!));
  row('  new trace id per root request', us(r.traceId!));
  return r.spanId!;
}
