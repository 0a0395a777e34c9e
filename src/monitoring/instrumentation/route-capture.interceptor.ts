import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { MonitoringRuntime } from './monitoring-runtime';
import { markRequestInProgress } from './request-tracking.middleware';

/**
 * Records the matched route template of HTTP requests that reach a controller, and raises the
 * in-progress gauge for them. Registered globally by `MonitoringModule`.
 */
@Injectable()
export class RouteCaptureInterceptor implements NestInterceptor {
  constructor(@Inject(MonitoringRuntime) private readonly runtime: MonitoringRuntime) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      markRequestInProgress(this.runtime, context.switchToHttp().getRequest());
    }
    return next.handle();
  }
}
