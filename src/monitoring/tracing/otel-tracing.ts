import type { OnApplicationShutdown } from '@nestjs/common';
import type { Context, SpanContext, Tracer, TracerProvider } from '@opentelemetry/api';
import type { MonitoringOptions } from '../monitoring-options.interface';
import { OtelSpanSink, type OtelApi, type SpanIdSlot } from './otel-span.sink';

/** Raised when `otelEnabled` is on and an OpenTelemetry package it needs is not installed. */
export class OtelPackageMissingError extends Error {
  constructor(pkg: string, why: string) {
    super(`otelEnabled needs the package ${pkg} (${why}): npm install ${pkg}`);
    this.name = 'OtelPackageMissingError';
  }
}

function load<T>(pkg: string, why: string): T {
  try {
    // Optional peer dependencies: loaded only when OpenTelemetry export is turned on.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(pkg) as T;
  } catch (error) {
    if ((error as { code?: string }).code === 'MODULE_NOT_FOUND') throw new OtelPackageMissingError(pkg, why);
    throw error;
  }
}

type Api = OtelApi & {
  trace: OtelApi['trace'] & {
    getTracerProvider(): TracerProvider;
    getTracer(name: string, version?: string): Tracer;
  };
  context: { active(): Context };
  isSpanContextValid(spanContext: SpanContext): boolean;
};

interface SdkTraceBase {
  BasicTracerProvider: new (config: Record<string, unknown>) => TracerProvider & {
    forceFlush(): Promise<void>;
    shutdown(): Promise<void>;
  };
  BatchSpanProcessor: new (exporter: unknown, config?: Record<string, unknown>) => unknown;
  RandomIdGenerator: new () => { generateTraceId(): string; generateSpanId(): string };
}

/** Version of this package, reported as the instrumentation scope version. */
const SCOPE_NAME = 'nestjs-ai-monitoring';

/**
 * Id generator of the module's own tracer provider: a span gets the trace id and span id of the
 * event it stands for (so span ids in Tempo or Jaeger match the `span_id` of log lines and
 * analytics rows); anything else falls back to random ids.
 */
class EventIdGenerator implements SpanIdSlot {
  private traceId: string | undefined;
  private spanId: string | undefined;
  constructor(private readonly fallback: { generateTraceId(): string; generateSpanId(): string }) {}
  next(traceId: string, spanId: string): void {
    this.traceId = traceId;
    this.spanId = spanId;
  }
  generateTraceId(): string {
    const id = this.traceId ?? this.fallback.generateTraceId();
    this.traceId = undefined;
    return id;
  }
  generateSpanId(): string {
    const id = this.spanId ?? this.fallback.generateSpanId();
    this.spanId = undefined;
    return id;
  }
}

/**
 * OpenTelemetry export: the span sink and where its spans go. When the app registered an
 * OpenTelemetry SDK (`NodeSDK`, `NodeTracerProvider.register()`), spans go through the app's global
 * tracer, and the app's HTTP server span of each request becomes the parent of the module's spans.
 * Otherwise the module builds a tracer provider of its own — not registered globally — exporting
 * over OTLP/HTTP to `otelEndpoint` with a batch processor, flushed at shutdown.
 */
export class OtelTracing implements OnApplicationShutdown {
  readonly sink: OtelSpanSink;
  /** True when spans go through the app's own registered SDK. */
  readonly usesAppSdk: boolean;
  private readonly api: Api;
  private readonly provider: { forceFlush(): Promise<void>; shutdown(): Promise<void> } | undefined;

  constructor(options: MonitoringOptions) {
    const api = load<Api>('@opentelemetry/api', 'the OpenTelemetry API');
    this.api = api;
    const exportPrompts = options.logPrompts;
    const global = api.trace.getTracerProvider() as TracerProvider & { getDelegate?(): TracerProvider };
    const delegate = global.getDelegate?.() ?? global;
    this.usesAppSdk = delegate.constructor.name !== 'NoopTracerProvider';
    if (this.usesAppSdk) {
      this.sink = new OtelSpanSink(api, api.trace.getTracer(SCOPE_NAME), { exportPrompts });
      return;
    }
    const sdk = load<SdkTraceBase>('@opentelemetry/sdk-trace-base', 'the module exports spans itself when the app registered no SDK');
    const { OTLPTraceExporter } = load<{ OTLPTraceExporter: new (config: Record<string, unknown>) => unknown }>(
      '@opentelemetry/exporter-trace-otlp-http',
      'to send spans over OTLP/HTTP',
    );
    const { resourceFromAttributes } = load<{ resourceFromAttributes(a: Record<string, string>): unknown }>(
      '@opentelemetry/resources',
      'to name the service of the spans',
    );
    const ids = new EventIdGenerator(new sdk.RandomIdGenerator());
    const provider = new sdk.BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': options.otelServiceName,
        'deployment.environment.name': options.environment,
      }),
      idGenerator: ids,
      spanProcessors: [new sdk.BatchSpanProcessor(new OTLPTraceExporter({ url: options.otelEndpoint }))],
    });
    this.provider = provider;
    this.sink = new OtelSpanSink(api, provider.getTracer(SCOPE_NAME), { exportPrompts }, ids);
  }

  /**
   * The app's active span where a request enters (its HTTP server span), when the app has
   * OpenTelemetry instrumentation; undefined otherwise.
   */
  readonly activeSpan = (): SpanContext | undefined => {
    if (!this.usesAppSdk) return undefined;
    const spanContext = this.api.trace.getSpanContext(this.api.context.active());
    return spanContext && this.api.isSpanContextValid(spanContext) ? spanContext : undefined;
  };

  /** Sends held spans and, with the module's own exporter, flushes and closes it. */
  async onApplicationShutdown(): Promise<void> {
    this.sink.flush();
    if (this.provider) await this.provider.shutdown();
  }

  /** Sends held spans and exports what is buffered (for tests and shutdown). */
  async forceFlush(): Promise<void> {
    this.sink.flush();
    if (this.provider) await this.provider.forceFlush();
  }
}
