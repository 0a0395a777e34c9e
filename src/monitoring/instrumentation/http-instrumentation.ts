import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, RequestMethod, type MiddlewareConsumer } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { recordMatchedRoute, RequestTrackingMiddleware, trackedRequestOf } from './request-tracking.middleware';

/** The parts of a Fastify request and reply the hooks read (no type import: Fastify is optional). */
interface FastifyRequestLike {
  raw: IncomingMessage;
  id: unknown;
  ip?: string;
  is404?: boolean;
  routeOptions?: { url?: string };
}
interface FastifyReplyLike {
  raw: ServerResponse;
}
type HookDone = (error?: Error) => void;
interface FastifyInstanceLike {
  addHook(name: 'preHandler', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: HookDone) => void): unknown;
}

/** Callback Nest's router calls before it dispatches to a controller method. */
type RouteTriggered = (requestMethod: RequestMethod, path: string) => void;
interface RouteTriggerAdapter {
  setOnRouteTriggered?(callback: RouteTriggered): void;
  getOnRouteTriggered?(): RouteTriggered | undefined;
}

/**
 * Wires the HTTP choke point into the application's HTTP adapter, Express or Fastify (read from
 * `HttpAdapterHost.getType()`):
 * - `RequestTrackingMiddleware` on every route, as Nest middleware on both adapters (on Fastify Nest
 *   runs it in an `onRequest` hook, so 404s and requests rejected by guards are tracked too);
 * - the route template: Fastify's `request.routeOptions.url` in a `preHandler` hook; on Express,
 *   the path Nest's router reports before it calls a controller (no global interceptor, which
 *   would cost an `AsyncResource` per request);
 * - on Fastify, the same `preHandler` hook enters the request scope again: the body is parsed
 *   between `onRequest` and `preHandler` from stream events, which do not carry the
 *   `AsyncLocalStorage` context entered in `onRequest`, and the handler must see it.
 */
@Injectable()
export class HttpInstrumentation {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  /** Applies the middleware and the adapter's hooks. Called from the module's `configure()`. */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestTrackingMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
    const adapter = this.adapterHost.httpAdapter;
    if (!adapter) return;
    if (adapter.getType() === 'fastify') {
      adapter.getInstance<FastifyInstanceLike>().addHook('preHandler', fastifyPreHandler);
    } else {
      reportRoutesFromRouter(adapter);
    }
  }
}

/** Fastify `preHandler`: route template, client address and Fastify's request id, then the scope. */
function fastifyPreHandler(request: FastifyRequestLike, reply: FastifyReplyLike, done: HookDone): void {
  const tracked = trackedRequestOf(reply.raw);
  if (tracked === undefined) return done();
  if (request.is404 !== true) {
    const url = request.routeOptions?.url;
    if (url !== undefined) tracked.scope.route = url;
  }
  tracked.clientIp = request.ip;
  request.id = tracked.scope.requestId;
  tracked.enter(done);
}

/**
 * Has Nest's router report the route template of each request it dispatches to a controller,
 * keeping a callback set before (there is one slot). Routes are registered after middleware, so
 * this runs in time. Adapters without the slot fall back to Express's `req.route` at the end.
 */
function reportRoutesFromRouter(adapter: RouteTriggerAdapter): void {
  if (typeof adapter.setOnRouteTriggered !== 'function') return;
  const previous = adapter.getOnRouteTriggered?.();
  adapter.setOnRouteTriggered(
    previous
      ? (method, path) => {
          previous(method, path);
          recordMatchedRoute(path);
        }
      : (_method, path) => recordMatchedRoute(path),
  );
}
