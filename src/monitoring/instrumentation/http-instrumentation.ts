import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, type RequestMethod } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  recordMatchedRoute,
  RequestTrackingMiddleware,
  trackedRequestOf,
} from './request-tracking.middleware';

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
  addHook(
    name: 'preHandler',
    hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: HookDone) => void,
  ): unknown;
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
 * - `RequestTrackingMiddleware` for every request, as a middleware of the adapter on both (on
 *   Fastify, middie runs it in an `onRequest` hook), so 404s and requests rejected by guards are
 *   tracked too;
 * - the route template: Fastify's `request.routeOptions.url` in a `preHandler` hook; on Express,
 *   the path Nest's router reports before it calls a controller (no global interceptor, which
 *   would cost an `AsyncResource` per request);
 * - on Fastify, the same `preHandler` hook enters the request scope again: the body is parsed
 *   between `onRequest` and `preHandler` from stream events, which do not carry the
 *   `AsyncLocalStorage` context entered in `onRequest`, and the handler must see it.
 */
@Injectable()
export class HttpInstrumentation {
  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(RequestTrackingMiddleware) private readonly tracking: RequestTrackingMiddleware,
  ) {}

  /**
   * Mounts the middleware and the adapter's hooks. Called from the module's `configure()`, which
   * Nest runs after the body parsers are mounted and before any route or Nest middleware is.
   */
  configure(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (!adapter) return;
    // Mounted with the adapter's own `use()` (Express, or Fastify's middie) rather than as Nest
    // middleware on a catch-all route: same place in the chain, without a route match, a WeakSet
    // entry and an exception zone per request.
    const tracking = this.tracking;
    adapter.use((req: never, res: never, next: () => void) => tracking.use(req, res, next));
    if (adapter.getType() === 'fastify') {
      adapter.getInstance<FastifyInstanceLike>().addHook('preHandler', fastifyPreHandler);
    } else {
      reportRoutesFromRouter(adapter);
    }
  }
}

/** Fastify `preHandler`: route template, client address and Fastify's request id, then the scope. */
function fastifyPreHandler(
  request: FastifyRequestLike,
  reply: FastifyReplyLike,
  done: HookDone,
): void {
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
