import type { INestApplication } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import {
  setupAnalyticsOpenApi,
  type AnalyticsOpenApiDocument,
  type AnalyticsOpenApiOptions,
} from './analytics/api/analytics-openapi';
import { loadSwagger } from './openapi/openapi.decorators';
import { SwaggerMissingError } from './openapi/swagger-missing.error';

/** Options of `setupMonitoring`. */
export interface SetupMonitoringOptions {
  /**
   * Serve the analytics API's OpenAPI document. Default `'if-installed'`: served when the optional
   * `@nestjs/swagger` is installed, skipped otherwise. `true` requires the package (throws naming it);
   * an object passes title / version to `setupAnalyticsOpenApi`.
   */
  openApi?: boolean | 'if-installed' | AnalyticsOpenApiOptions;
  /**
   * Call `app.enableShutdownHooks()`, so SIGTERM / SIGINT flush queued analytics rows and log
   * lines before the process exits (without it they are lost). Default true.
   */
  shutdownHooks?: boolean;
  /**
   * Route the app's Nest logs (`new Logger(...)` in the app's code, Nest's own start-up lines)
   * through this module's pino logger, so they carry the request id and reach Loki. Default true.
   * Create the app with `{ bufferLogs: true }` so the start-up lines wait for this logger.
   */
  useLogger?: boolean;
}

/** What `setupMonitoring` did. */
export interface MonitoringSetup {
  /** The served OpenAPI document, or undefined when not served (API off, or swagger not installed). */
  openApiDocument: AnalyticsOpenApiDocument | undefined;
}

/**
 * The one call in `main.ts` that completes what a Nest module cannot do from inside the app:
 *
 * ```ts
 * const app = await NestFactory.create(AppModule, { bufferLogs: true });
 * setupMonitoring(app);
 * await app.listen(3000);
 * ```
 *
 * It enables shutdown hooks (queued analytics rows and log lines are written on SIGTERM),
 * makes the module's pino logger the app's logger (request ids on the app's own log lines), and
 * serves the analytics OpenAPI document when `@nestjs/swagger` is installed. Call it after
 * `NestFactory.create` and before `app.listen()`.
 */
export function setupMonitoring(
  app: INestApplication,
  options: SetupMonitoringOptions = {},
): MonitoringSetup {
  if (options.shutdownHooks !== false) app.enableShutdownHooks();
  if (options.useLogger !== false) app.useLogger(app.get(Logger));
  const openApi = options.openApi ?? 'if-installed';
  let openApiDocument: AnalyticsOpenApiDocument | undefined;
  if (openApi !== false) {
    const swaggerInstalled = openApi === 'if-installed' ? isSwaggerInstalled() : true;
    if (swaggerInstalled)
      openApiDocument = setupAnalyticsOpenApi(app, typeof openApi === 'object' ? openApi : {});
  }
  return { openApiDocument };
}

function isSwaggerInstalled(): boolean {
  try {
    loadSwagger();
    return true;
  } catch (error) {
    if (error instanceof SwaggerMissingError) return false;
    throw error;
  }
}
