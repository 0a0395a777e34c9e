import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createScope, snapshot, storage, type MonitoringScope } from '../context/monitoring-scope';
import type { HttpRequestEvent } from '../events/monitoring-event';
import type { MonitoredRequest, MonitoringOptions } from '../monitoring-options.interface';
import { incomingTraceContext } from '../tracing/trace-ids';
import { MonitoringRuntime } from './monitoring-runtime';

/** Request ids accepted from clients: short, printable, no spaces (anything else is replaced). */
export const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Route label of requests that matched no route (404s), so raw paths never become labels. */
export const UNMATCHED_ROUTE = 'unmatched';

type ExpressLikeRequest = IncomingMessage & {
  route?: { path?: unknown };
  baseUrl?: string;
  ip?: string;
  originalUrl?: string;
};

/** URL path of a request, without the query string. */
export function requestPath(req: { originalUrl?: string; url?: string }): string {
  return (req.originalUrl ?? req.url ?? '/').split('?', 1)[0] ?? '/';
}

/** True for Prometheus scrapes of this module's metrics endpoint, which are neither tracked nor logged. */
export function isMetricsScrape(
  path: string,
  options: Pick<MonitoringOptions, 'prometheusEnabled' | 'metricsPath'>,
): boolean {
  return options.prometheusEnabled && path === options.metricsPath;
}

/** The route template Express matched (`/agents/:id/execute`), or undefined. */
export function matchedRoute(req: ExpressLikeRequest): string | undefined {
  const path = req.route?.path;
  if (typeof path !== 'string') return undefined;
  return `${req.baseUrl ?? ''}${path}` || '/';
}

/**
 * HTTP choke point: gives every request an id (kept from `X-Request-Id` when well-formed, echoed
 * in the response), opens the request scope, and emits one `HttpRequestEvent` when the response
 * finishes or the client goes away: 404s and errors raised by guards or pipes included.
 */
@Injectable()
export class RequestTrackingMiddleware implements NestMiddleware {
  constructor(@Inject(MonitoringRuntime) private readonly runtime: MonitoringRuntime) {}

  use(req: ExpressLikeRequest, res: ServerResponse, next: (error?: unknown) => void): void {
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

    const incomingTrace = incomingTraceContext(req.headers.traceparent, runtime.activeOtelSpan);
    const scope: MonitoringScope = createScope('request', undefined, runtime, {
      requestId,
      traceId: incomingTrace?.traceId,
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

    // Nest mounts this middleware as a route of its own: that route is not the one the request matched.
    const middlewareRoute = req.route;
    const method = req.method ?? 'GET';
    const startedAt = new Date();
    const t0 = performance.now();
    let done = false;
    const finish = (aborted: boolean) => {
      if (done) return;
      done = true;
      if (scope.inProgress) runtime.fanOut.end({ kind: 'http_request', ...scope.inProgress });
      const event: HttpRequestEvent = {
        kind: 'http_request',
        spanId: scope.spanId,
        startedAt,
        durationMs: performance.now() - t0,
        context: snapshot(scope),
        method,
        route:
          scope.route ?? this.routeWithoutController(req, res, middlewareRoute) ?? UNMATCHED_ROUTE,
        path,
        statusCode: aborted && !res.headersSent ? 499 : res.statusCode,
        aborted,
      };
      if (incomingTrace) {
        event.remoteParentSpanId = incomingTrace.parentSpanId;
        if (incomingTrace.fromOtel) event.otelServerSpan = true;
      }
      const ip = req.ip ?? req.socket?.remoteAddress;
      if (ip) event.clientIp = ip;
      const ua = req.headers['user-agent'];
      if (ua) event.userAgent = ua;
      runtime.fanOut.publish(event);
    };
    res.once('finish', () => finish(false));
    res.once('close', () => finish(!res.writableFinished));
    storage.run(scope, next);
  }

  /**
   * Route template of a request that finished before any controller interceptor ran: rejected by a
   * guard (the controller's route is the last one Express matched), or unmatched (404: the last
   * matched route is a middleware mount such as this one's, which is no route of the app).
   */
  private routeWithoutController(
    req: ExpressLikeRequest,
    res: ServerResponse,
    middlewareRoute: unknown,
  ): string | undefined {
    if (res.statusCode === 404 || req.route === middlewareRoute) return undefined;
    return matchedRoute(req);
  }
}

/**
 * Raises the in-progress gauge once the router has matched, when the route template is known.
 * Called by the route interceptor; requests rejected before it (guards, 404) finish at once anyway.
 */
export function markRequestInProgress(runtime: MonitoringRuntime, req: ExpressLikeRequest): void {
  const scope = storage.getStore();
  if (!scope || scope.kind !== 'request' || scope.inProgress) return;
  const route = matchedRoute(req);
  if (!route) return;
  scope.route = route;
  scope.inProgress = { method: req.method ?? 'GET', route };
  runtime.fanOut.start({ kind: 'http_request', ...scope.inProgress });
}
