import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import {
  createScope,
  currentScope,
  runInRequestScope,
  snapshot,
  type MonitoringScope,
} from '../context/monitoring-scope';
import { UNMATCHED_ROUTE, type HttpRequestEvent, type InFlightHttpRequest } from '../events/monitoring-event';
import type { MonitoredRequest, MonitoringOptions } from '../monitoring-options.interface';
import { LogPipeline } from '../logging/log-pipeline';
import { createRequestLogStore, type RequestLogStore } from '../logging/request-log-store';
import { incomingTraceContext, type IncomingTraceContext } from '../tracing/trace-ids';
import { MonitoringRuntime } from './monitoring-runtime';

/** Request ids accepted from clients: short, printable, no spaces (anything else is replaced). */
export const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Route label of requests that matched no route (404s), so raw paths never become labels. */
export { UNMATCHED_ROUTE };

/** The request object Nest middleware receives: Express's request, or Node's on Fastify. */
type MiddlewareRequest = IncomingMessage & {
  route?: { path?: unknown };
  baseUrl?: string;
  ip?: string;
  originalUrl?: string;
  id?: unknown;
  log?: Logger;
};

/** Where the tracked request of a response is kept between the middleware and later hooks. */
const TRACKED = Symbol('monitoring.trackedRequest');

type TrackedResponse = ServerResponse & { [TRACKED]?: TrackedHttpRequest };

/** URL path of a request, without the query string. */
export function requestPath(req: { originalUrl?: string; url?: string }): string {
  const url = req.originalUrl ?? req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** True for Prometheus scrapes of this module's metrics endpoint, which are neither tracked nor logged. */
export function isMetricsScrape(
  path: string,
  options: Pick<MonitoringOptions, 'prometheusEnabled' | 'metricsPath'>,
): boolean {
  return options.prometheusEnabled && path === options.metricsPath;
}

/** The route template Express matched (`/agents/:id/execute`), or undefined. */
export function matchedRoute(req: {
  route?: { path?: unknown };
  baseUrl?: string;
}): string | undefined {
  const path = req.route?.path;
  if (typeof path !== 'string') return undefined;
  return `${req.baseUrl ?? ''}${path}` || '/';
}

/**
 * One request between the middleware and the end of its response. It is also the request's entry
 * in the fan-out's in-flight set, which the in-progress gauge counts at scrape time: nothing runs
 * per request for the gauge but a set insert and delete.
 */
export class TrackedHttpRequest implements InFlightHttpRequest {
  /** Client address as the framework resolved it (trusted proxies applied), when it did. */
  clientIp: string | undefined;
  private readonly startedAt = Date.now();
  private readonly t0 = performance.now();

  constructor(
    private readonly runtime: MonitoringRuntime,
    readonly scope: MonitoringScope,
    readonly logStore: RequestLogStore,
    private readonly req: MiddlewareRequest,
    readonly method: string,
    private readonly path: string,
    /** The route Nest mounted this middleware on (Express): no route of the app. */
    private readonly middlewareRoute: unknown,
    /** The request's parent outside the module: a `traceparent` header or the app's OpenTelemetry span. */
    private readonly remote: (IncomingTraceContext & { fromOtel: boolean }) | undefined,
  ) {}

  /** The matched route template once known; undefined before routing and for 404s. */
  get route(): string | undefined {
    return this.scope.route;
  }

  /** Runs `next` inside the request's monitoring scope and nestjs-pino's request store. */
  enter(next: () => void): void {
    runInRequestScope(this.scope, this.logStore, next);
  }

  /** Emits the request's one event. Called once, when the response closes. */
  finish(res: ServerResponse, aborted: boolean): void {
    const runtime = this.runtime;
    runtime.fanOut.httpInFlight.delete(this);
    const req = this.req;
    const event: HttpRequestEvent = {
      kind: 'http_request',
      spanId: this.scope.spanId,
      startedAt: new Date(this.startedAt),
      durationMs: performance.now() - this.t0,
      context: snapshot(this.scope),
      method: this.method,
      route: this.scope.route ?? this.routeFromExpress(res) ?? UNMATCHED_ROUTE,
      path: this.path,
      statusCode: aborted && !res.headersSent ? 499 : res.statusCode,
      aborted,
    };
    const remote = this.remote;
    if (remote !== undefined) {
      event.remoteParentSpanId = remote.parentSpanId;
      if (remote.fromOtel) event.otelServerSpan = true;
    }
    const ip = this.clientIp ?? req.ip ?? req.socket?.remoteAddress;
    if (ip) event.clientIp = ip;
    const ua = req.headers['user-agent'];
    if (ua) event.userAgent = ua;
    runtime.fanOut.publish(event);
  }

  /**
   * Route template read from Express when Nest did not report the route (an adapter without
   * `setOnRouteTriggered`): the last route Express matched, unless that is a middleware mount such
   * as this one's, or the request ended in a 404.
   */
  private routeFromExpress(res: ServerResponse): string | undefined {
    const req = this.req;
    if (req.route === undefined || req.route === this.middlewareRoute || res.statusCode === 404)
      return undefined;
    return matchedRoute(req);
  }
}

/** The one `close` listener of tracked responses: `close` follows `finish`, or an aborted connection. */
function onResponseClose(this: TrackedResponse): void {
  const tracked = this[TRACKED];
  if (tracked === undefined) return;
  this[TRACKED] = undefined;
  tracked.finish(this, !this.writableFinished);
}

/** The tracked request of a response, for hooks that run after the middleware (Fastify's). */
export function trackedRequestOf(res: ServerResponse): TrackedHttpRequest | undefined {
  return (res as TrackedResponse)[TRACKED];
}

/** Records the route Nest's router dispatched the current request to (template with prefix). */
export function recordMatchedRoute(route: string): void {
  const scope = currentScope();
  if (scope !== undefined && scope.kind === 'request') scope.route = route;
}

/**
 * HTTP choke point, on Express and Fastify alike: gives every request an id (kept from
 * `X-Request-Id` when well-formed, echoed in the response), opens the request scope and
 * nestjs-pino's request store, and emits one `HttpRequestEvent` when the response closes (finished
 * or the client went away): 404s and errors raised by guards or pipes included.
 */
@Injectable()
export class RequestTrackingMiddleware implements NestMiddleware {
  private readonly logger: Logger;

  constructor(
    @Inject(MonitoringRuntime) private readonly runtime: MonitoringRuntime,
    @Inject(LogPipeline) logs: LogPipeline,
  ) {
    this.logger = logs.logger;
  }

  use(req: MiddlewareRequest, res: TrackedResponse, next: (error?: unknown) => void): void {
    const runtime = this.runtime;
    const options = runtime.options;
    const path = requestPath(req);
    if (isMetricsScrape(path, options)) return next();

    const incoming = req.headers[options.requestIdHeader];
    const requestId =
      typeof incoming === 'string' && WELL_FORMED_REQUEST_ID.test(incoming)
        ? incoming
        : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    // pino-http's conventions, kept for code that reads them: the request id and a logger whose
    // lines carry it (the root logger: its mixin adds the context ids).
    req.id = requestId;
    req.log = this.logger;

    const remote = incomingTraceContext(req.headers.traceparent, runtime.activeOtelSpan);
    const scope: MonitoringScope = createScope('request', undefined, runtime, {
      requestId,
      traceId: remote?.traceId,
    });
    if (options.principalExtractor) {
      try {
        const ids = options.principalExtractor(req as unknown as MonitoredRequest);
        if (ids) {
          scope.userId = ids.userId;
          scope.tenantId = ids.tenantId;
          scope.sessionId = ids.sessionId;
        }
      } catch (error) {
        runtime.fanOut.reportFailure('principalExtractor', error);
      }
    }

    const tracked = new TrackedHttpRequest(
      runtime,
      scope,
      createRequestLogStore(this.logger),
      req,
      req.method ?? 'GET',
      path,
      req.route,
      remote,
    );
    res[TRACKED] = tracked;
    res.on('close', onResponseClose);
    runtime.fanOut.httpInFlight.add(tracked);
    tracked.enter(next);
  }
}
