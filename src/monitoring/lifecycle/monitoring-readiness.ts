import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  ServiceUnavailableException,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { MONITORING_OPTIONS } from '../monitoring.constants';
import type { MonitoringOptions } from '../monitoring-options.interface';

/** The response a connection is serving, kept on the socket so shutdown can reach it. */
const CURRENT_RESPONSE = Symbol('monitoring.currentResponse');
type TrackedSocket = Socket & { [CURRENT_RESPONSE]?: ServerResponse };

/** Message of the 503 `check()` throws while the application shuts down. */
export const SHUTTING_DOWN_MESSAGE = 'the application is shutting down';

/**
 * The application's readiness, and the part of shutdown that stops new work. On shutdown
 * (`beforeApplicationShutdown`, which `app.enableShutdownHooks()` runs on SIGTERM) it:
 * - turns not ready: `isShuttingDown()` is true and `check()` throws 503, for the app's readiness
 *   route, so a load balancer stops sending traffic;
 * - closes idle keep-alive connections at once, and answers every request still in flight or
 *   arriving on an open connection with `Connection: close`, so clients that keep sending move
 *   to another instance instead of holding this one open;
 * - closes whatever connection is still open when the HTTP part of the budget
 *   (`shutdownTimeoutMs` minus the time reserved for the analytics flush) is spent.
 * Node's `server.close()` alone does none of this for busy keep-alive connections: they stay open
 * and keep being served for as long as their clients send. The analytics queue is flushed at the
 * same time (see `AnalyticsLifecycle`). Works on any Node HTTP server (Express and Fastify).
 */
@Injectable()
export class MonitoringReadiness
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('Monitoring');
  private server?: Server;
  private readonly sockets = new Set<TrackedSocket>();
  private stoppingSince?: number;
  private forceTimer?: NodeJS.Timeout;

  constructor(
    @Inject(MONITORING_OPTIONS) private readonly options: MonitoringOptions,
    @Optional() @Inject(HttpAdapterHost) private readonly adapterHost?: HttpAdapterHost,
  ) {}

  /** True once shutdown has begun. */
  isShuttingDown(): boolean {
    return this.stoppingSince !== undefined;
  }

  /** True while the application takes new work. */
  isReady(): boolean {
    return this.stoppingSince === undefined;
  }

  /** Throws 503 once shutdown has begun; use it in the app's readiness route. */
  check(): { status: 'ready' } {
    if (this.isShuttingDown()) throw new ServiceUnavailableException(SHUTTING_DOWN_MESSAGE);
    return { status: 'ready' };
  }

  /** When the whole shutdown must be done (epoch ms), or undefined before shutdown. */
  get deadline(): number | undefined {
    return this.stoppingSince === undefined ? undefined : this.stoppingSince + this.options.shutdownTimeoutMs;
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost?.httpAdapter?.getHttpServer?.() as Server | undefined;
    if (!server || typeof server.on !== 'function') return;
    this.server = server;
    server.on('connection', (socket: TrackedSocket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    // First listener, so the header is set before any framework writes the response.
    server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
      const socket = request.socket as TrackedSocket | undefined;
      if (socket) socket[CURRENT_RESPONSE] = response;
      if (this.stoppingSince !== undefined) response.setHeader('Connection', 'close');
    });
  }

  beforeApplicationShutdown(): void {
    if (this.stoppingSince !== undefined) return;
    this.stoppingSince = Date.now();
    const server = this.server;
    if (!server) return;
    for (const socket of this.sockets) {
      const response = socket[CURRENT_RESPONSE];
      if (!response || response.writableFinished) continue;
      if (!response.headersSent) response.setHeader('Connection', 'close');
      // Headers already sent with keep-alive (a long or streamed answer): close when it ends.
      else response.once('finish', () => socket.end());
    }
    closeIdle(server);
    const budget = this.options.shutdownTimeoutMs;
    const httpMs = Math.max(0, budget - Math.min(2_000, Math.floor(budget / 4)));
    this.forceTimer = setTimeout(() => {
      if (this.sockets.size === 0) return;
      this.logger.warn(
        `shutdown: closing ${this.sockets.size} connections still open after ${httpMs} ms (shutdownTimeoutMs ${budget})`,
      );
      (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      for (const socket of this.sockets) socket.destroy();
    }, httpMs);
    this.forceTimer.unref();
  }

  onApplicationShutdown(): void {
    if (this.forceTimer) clearTimeout(this.forceTimer);
    this.forceTimer = undefined;
  }
}

function closeIdle(server: Server): void {
  (server as Server & { closeIdleConnections?: () => void }).closeIdleConnections?.();
}
