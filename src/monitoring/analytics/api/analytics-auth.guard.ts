import { createHash, timingSafeEqual } from 'node:crypto';
import {
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
  type OnApplicationBootstrap,
  type Type,
} from '@nestjs/common';
import { OPTIONAL_DEPS_METADATA, PARAMTYPES_METADATA, SELF_DECLARED_DEPS_METADATA } from '@nestjs/common/constants';
import { ModuleRef } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import { MONITORING_OPTIONS } from '../../monitoring.constants';
import type { MonitoringOptions } from '../../monitoring-options.interface';

interface HeaderCarrier {
  headers?: Record<string, string | string[] | undefined>;
}

/** Message of the 403 answer of analytics routes in production without any access control. */
export const ANALYTICS_CLOSED_MESSAGE =
  'analytics routes are closed: NODE_ENV is production and no access control is configured. ' +
  'Set analyticsApiToken (ANALYTICS_API_TOKEN) or analyticsGuard, or analyticsPublic: true ' +
  '(ANALYTICS_PUBLIC=true) to serve them to anyone';

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

type GuardClass = Type<CanActivate>;

/**
 * The analytics access rule, shared by every guard that applies it: the bearer token (when
 * `analyticsApiToken` is set), then the user's guard (when `analyticsGuard` is set). Both must
 * pass when both are configured. A guard class is resolved once, at application bootstrap, so a
 * guard that cannot be built fails the start rather than every request.
 */
@Injectable()
export class AnalyticsAccessPolicy implements OnApplicationBootstrap {
  private readonly logger = new Logger('MonitoringAnalytics');
  private resolved?: Promise<CanActivate>;

  constructor(
    @Inject(MONITORING_OPTIONS) readonly options: MonitoringOptions,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * True when the analytics routes must refuse everyone: in production (`NODE_ENV=production`)
   * with neither a token nor a guard, unless the app opted in with `analyticsPublic: true`.
   * Analytics hold costs and usage per customer: open by default is safe only on a laptop.
   */
  get closed(): boolean {
    const o = this.options;
    return (
      o.environment === 'production' &&
      o.analyticsApiToken === undefined &&
      o.analyticsGuard === undefined &&
      !o.analyticsPublic
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.analyticsGuard !== undefined) await this.userGuard(this.options.analyticsGuard);
    if (!this.options.analyticsApiEnabled) return;
    if (this.closed) this.logger.warn(`${ANALYTICS_CLOSED_MESSAGE} (they answer 403)`);
    else if (
      this.options.environment === 'production' &&
      this.options.analyticsApiToken === undefined &&
      this.options.analyticsGuard === undefined
    ) {
      this.logger.warn('analytics routes are served to anyone (analyticsPublic: true)');
    }
  }

  /** Throws 401 / 403 when the request may not read analytics; resolves true otherwise. */
  async check(context: ExecutionContext): Promise<boolean> {
    if (this.closed) throw new ForbiddenException(ANALYTICS_CLOSED_MESSAGE);
    const token = this.options.analyticsApiToken;
    if (token !== undefined) {
      const given = bearerToken(context.switchToHttp().getRequest<HeaderCarrier>());
      if (given === undefined || !tokensMatch(given, token)) {
        const response = context
          .switchToHttp()
          .getResponse<{ setHeader?(n: string, v: string): void; header?(n: string, v: string): void }>();
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

  private userGuard(configured: GuardClass | CanActivate): Promise<CanActivate> {
    if (isGuardInstance(configured)) return Promise.resolve(configured);
    this.resolved ??= this.instantiate(configured);
    return this.resolved;
  }

  /**
   * A guard class registered as a provider anywhere in the app is used as is; otherwise it is
   * built here with its constructor dependencies looked up in the whole app (the module's own
   * injector would only see the monitoring module's providers).
   */
  private async instantiate(guard: GuardClass): Promise<CanActivate> {
    try {
      return this.moduleRef.get(guard, { strict: false });
    } catch {
      // Not a provider: build it below.
    }
    const designTypes: unknown[] = Reflect.getMetadata(PARAMTYPES_METADATA, guard) ?? [];
    const declared: { index: number; param: unknown }[] = Reflect.getMetadata(SELF_DECLARED_DEPS_METADATA, guard) ?? [];
    const optional: number[] = Reflect.getMetadata(OPTIONAL_DEPS_METADATA, guard) ?? [];
    const args = designTypes.map((type, index) => {
      const token = declared.find((d) => d.index === index)?.param ?? type;
      try {
        return this.moduleRef.get(token as Type<unknown>, { strict: false });
      } catch (error) {
        if (optional.includes(index)) return undefined;
        const name = typeof token === 'function' ? token.name : String(token);
        throw new Error(
          `analyticsGuard ${guard.name}: cannot resolve its dependency ${name} (argument ${index}); ` +
            `register ${guard.name} or ${name} as a provider of the app (${(error as Error).message})`,
        );
      }
    });
    return new guard(...args);
  }
}

/**
 * Protects the analytics API: requires `Authorization: Bearer <analyticsApiToken>` when a token is
 * configured (401 otherwise, compared in constant time), then runs the `analyticsGuard` option
 * when one is given. Without either option every request passes, except in production (see
 * `AnalyticsAccessPolicy.closed`). Exported so other analytics
 * routes (such as `recent-logs`) apply exactly the same rule: `@UseGuards(AnalyticsAuthGuard)`.
 */
@Injectable()
export class AnalyticsAuthGuard implements CanActivate {
  constructor(@Inject(AnalyticsAccessPolicy) private readonly policy: AnalyticsAccessPolicy) {}

  canActivate(context: ExecutionContext): Promise<boolean> {
    return this.policy.check(context);
  }
}

/** Applies the analytics access rule to the metrics endpoint when `protectMetrics` is on. */
@Injectable()
export class MetricsAuthGuard implements CanActivate {
  constructor(@Inject(AnalyticsAccessPolicy) private readonly policy: AnalyticsAccessPolicy) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    return this.policy.options.protectMetrics ? this.policy.check(context) : true;
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
