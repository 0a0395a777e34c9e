import { randomBytes } from 'node:crypto';
import { Controller, ForbiddenException, Get, Inject, NotFoundException, Req, Res, type Type } from '@nestjs/common';
import { ANALYTICS_CLOSED_MESSAGE, AnalyticsAccessPolicy } from '../api/analytics-auth.guard';
import { ApiExcludeController } from '../../openapi/openapi.decorators';
import { MONITORING_OPTIONS } from '../../monitoring.constants';
import type { MonitoringOptions } from '../../monitoring-options.interface';
import { renderAnalyticsPage } from './analytics-page.html';

interface PageRequest {
  originalUrl?: string;
  url?: string;
}

interface PageResponse {
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
}

/**
 * The part of the request path in front of the page's own path: the app's global prefix, if any
 * (`/v1/api/analytics/ui` → `/v1`). The API lives behind the same prefix.
 */
export function mountPrefix(requestUrl: string, uiPath: string): string {
  const path = (requestUrl.split('?')[0] ?? '').replace(/\/+$/, '');
  return path.endsWith(uiPath) ? path.slice(0, path.length - uiPath.length) : '';
}

/**
 * Creates the controller serving the built-in analytics page at `uiPath`. The page holds no data
 * (it fetches the API with the token the user types in), so it is served without the API's
 * token check (but not in production without any access control, see `analyticsPublic`); each answer carries a Content-Security-Policy allowing only its own inline
 * script and style (by nonce) and requests to this origin.
 */
export function createAnalyticsUiController(uiPath: string, apiPrefix: string): Type<unknown> {
  @ApiExcludeController()
  @Controller()
  class AnalyticsUiController {
    constructor(
      @Inject(MONITORING_OPTIONS) private readonly options: MonitoringOptions,
      @Inject(AnalyticsAccessPolicy) private readonly access: AnalyticsAccessPolicy,
    ) {}

    @Get(uiPath)
    page(@Req() request: PageRequest, @Res({ passthrough: true }) response: PageResponse): string {
      if (!this.options.analyticsApiEnabled || !this.options.analyticsUiEnabled) throw new NotFoundException();
      if (this.access.closed) throw new ForbiddenException(ANALYTICS_CLOSED_MESSAGE);
      const nonce = randomBytes(16).toString('base64');
      const apiBase = mountPrefix(request.originalUrl ?? request.url ?? '', uiPath) + apiPrefix;
      const headers: Record<string, string> = {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Content-Security-Policy': [
          "default-src 'none'",
          `script-src 'nonce-${nonce}'`,
          `style-src 'nonce-${nonce}'`,
          "connect-src 'self'",
          "img-src 'self' data:",
          "base-uri 'none'",
          "form-action 'none'",
          "frame-ancestors 'self'",
        ].join('; '),
      };
      for (const [name, value] of Object.entries(headers)) {
        if (typeof response.setHeader === 'function') response.setHeader(name, value);
        else response.header?.(name, value);
      }
      return renderAnalyticsPage({ apiBase, nonce });
    }
  }
  return AnalyticsUiController;
}
