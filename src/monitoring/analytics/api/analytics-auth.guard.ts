import { createHash, timingSafeEqual } from 'node:crypto';
import {
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
  type Type,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import { MONITORING_OPTIONS } from '../../monitoring.constants';
import type { MonitoringOptions } from '../../monitoring-options.interface';

interface HeaderCarrier {
  headers?: Record<string, string | string[] | undefined>;
}

/** Message of the 401 answer (the same whether the token is missing or wrong). */
export const ANALYTICS_UNAUTHORIZED_MESSAGE = 'a valid analytics API token is required (Authorization: Bearer <token>)';

function bearerToken(request: HeaderCarrier): string | undefined {
  const header = request.headers?.['authorization'];
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return match?.[1];
}

/**
 * Compares in constant time: both sides are hashed first, so neither the content nor the length
 * of the configured token leaks through timing.
 */
export function tokensMatch(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function isGuardInstance(guard: unknown): guard is CanActivate {
  return typeof guard === 'object' && guard !== null && typeof (guard as CanActivate).canActivate === 'function';
}

/**
 * Shared access check: the bearer token (when `analyticsApiToken` is set), then the user's guard
 * (when `analyticsGuard` is set). Both must pass when both are configured.
 */
abstract class AnalyticsAccessCheck implements CanActivate {
  private resolvedGuard?: Promise<CanActivate>;

  constructor(
    protected readonly options: MonitoringOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  abstract canActivate(context: ExecutionContext): Promise<boolean>;

  protected async check(context: ExecutionContext): Promise<boolean> {
    const token = this.options.analyticsApiToken;
    if (token !== undefined) {
      const given = bearerToken(context.switchToHttp().getRequest<HeaderCarrier>());
      if (given === undefined || !tokensMatch(given, token)) {
        const response = context.switchToHttp().getResponse<{ setHeader?(n: string, v: string): void; header?(n: string, v: string): void }>();
        const challenge = 'Bearer realm="analytics"';
        if (typeof response.setHeader === 'function') response.setHeader('WWW-Authenticate', challenge);
        else response.header?.('WWW-Authenticate', challenge);
        throw new UnauthorizedException(ANALYTICS_UNAUTHORIZED_MESSAGE);
      }
    }
    const configured = this.options.analyticsGuard;
    if (configured !== undefined) {
      const guard = await this.userGuard(configured);
      let allowed = guard.canActivate(context);
      if (isObservable(allowed)) allowed = await lastValueFrom(allowed);
      if (!(await allowed)) throw new ForbiddenException('Forbidden resource');
    }
    return true;
  }

  private userGuard(configured: Type<CanActivate> | CanActivate): Promise<CanActivate> {
    if (isGuardInstance(configured)) return Promise.resolve(configured);
    this.resolvedGuard ??= (async () => {
      try {
        // A guard the app registered as a provider keeps its own scope and dependencies.
        return this.moduleRef.get(configured, { strict: false });
      } catch {
        return this.moduleRef.create(configured);
      }
    })();
    return this.resolvedGuard;
  }
}

/**
 * Protects the analytics API: requires `Authorization: Bearer <analyticsApiToken>` when a token is
 * configured (401 otherwise, compared in constant time), then runs the `analyticsGuard` option
 * when one is given. Without either option every request passes. Exported so other analytics
 * routes (such as `recent-logs`) apply exactly the same rule: `@UseGuards(AnalyticsAuthGuard)`.
 */
@Injectable()
export class AnalyticsAuthGuard extends AnalyticsAccessCheck {
  constructor(@Inject(MONITORING_OPTIONS) options: MonitoringOptions, @Inject(ModuleRef) moduleRef: ModuleRef) {
    super(options, moduleRef);
  }

  canActivate(context: ExecutionContext): Promise<boolean> {
    return this.check(context);
  }
}

/** Applies the analytics access rule to the metrics endpoint when `protectMetrics` is on. */
@Injectable()
export class MetricsAuthGuard extends AnalyticsAccessCheck {
  constructor(@Inject(MONITORING_OPTIONS) options: MonitoringOptions, @Inject(ModuleRef) moduleRef: ModuleRef) {
    super(options, moduleRef);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    return this.options.protectMetrics ? this.check(context) : true;
  }
}

/**
 * Answers 404 when the analytics API is switched off: with `forRootAsync` the routes are
 * registered before the options are known.
 */
@Injectable()
export class AnalyticsApiEnabledGuard implements CanActivate {
  constructor(@Inject(MONITORING_OPTIONS) private readonly options: MonitoringOptions) {}

  canActivate(): boolean {
    if (!this.options.analyticsApiEnabled) throw new NotFoundException();
    return true;
  }
}
