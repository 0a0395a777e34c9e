import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { Logger } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';
import { MONITORING_OPTIONS } from '../monitoring.constants';
import type { MonitoringOptions } from '../monitoring-options.interface';
import { LogPipeline } from './log-pipeline';
import { runInNestjsPinoContext } from './nestjs-pino-storage';
import { isMetricsScrape, requestPath } from '../instrumentation/request-tracking.middleware';

/**
 * nestjs-pino's request middleware, mounted by `MonitoringModule` right before the request
 * tracking: pino-http gives the request its id (`req.id`, the same id as the tracking's) and its
 * logger (`req.log`), and nestjs-pino's request store is opened so that `PinoLogger` and
 * `PinoLogger.assign()` work inside requests. It writes no line itself.
 */
@Injectable()
export class RequestLoggerMiddleware implements NestMiddleware {
  private readonly httpLogger: HttpLogger;

  constructor(
    @Inject(LogPipeline) pipeline: LogPipeline,
    @Inject(MONITORING_OPTIONS) private readonly options: MonitoringOptions,
  ) {
    this.httpLogger = pinoHttp(pipeline.pinoHttpOptions());
  }

  use(
    req: IncomingMessage & { originalUrl?: string; log?: Logger },
    res: ServerResponse,
    next: () => void,
  ): void {
    if (isMetricsScrape(requestPath(req), this.options)) return next();
    this.httpLogger(req, res);
    runInNestjsPinoContext(req.log, next);
  }
}
