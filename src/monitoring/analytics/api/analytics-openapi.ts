import type { INestApplication } from '@nestjs/common';
import { loadSwagger } from '../../openapi/openapi.decorators';
import { MONITORING_OPTIONS } from '../../monitoring.constants';
import type { MonitoringOptions } from '../../monitoring-options.interface';
import { ANALYTICS_API_TAG } from './analytics.controller';
import { AnalyticsAccessPolicy } from './analytics-auth.guard';

/** Options of `setupAnalyticsOpenApi`. */
export interface AnalyticsOpenApiOptions {
  /** Title of the document. Default `Analytics API`. */
  title?: string;
  /** Version shown in the document. Default `1`. */
  version?: string;
}

/**
 * The OpenAPI 3 document served by `setupAnalyticsOpenApi` (the `OpenAPIObject` of
 * `@nestjs/swagger`, typed here so the package's types do not require that optional package).
 */
export interface AnalyticsOpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, unknown>>;
  components?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Serves the OpenAPI description of the analytics API: Swagger UI at `analyticsOpenApiPath`
 * (default `/api/analytics/docs`) and the JSON document at `<path>/json`. Call it once, after
 * `NestFactory.create` and before `app.listen()`:
 *
 * ```ts
 * const app = await NestFactory.create(AppModule);
 * setupAnalyticsOpenApi(app);
 * await app.listen(3000);
 * ```
 *
 * The document lists only the analytics routes (the app's own routes are left to its own
 * OpenAPI setup, if any). Swagger UI's files come from the installed `swagger-ui-dist` package,
 * not from a CDN. Returns the document, or undefined (and serves nothing) when the analytics API
 * is disabled or closed (production without access control, see `analyticsPublic`).
 *
 * Needs the optional peer `@nestjs/swagger` (`^11` with NestJS 11, `^12` with NestJS 12), loaded
 * only here; without it this throws an error naming the package.
 */
export function setupAnalyticsOpenApi(
  app: INestApplication,
  options: AnalyticsOpenApiOptions = {},
): AnalyticsOpenApiDocument | undefined {
  const settings = app.get<MonitoringOptions>(MONITORING_OPTIONS, { strict: false });
  if (!settings.analyticsApiEnabled) return undefined;
  // Closed in production without access control: the document describes routes that answer 403.
  if (app.get(AnalyticsAccessPolicy, { strict: false }).closed) return undefined;
  const { DocumentBuilder, SwaggerModule } = loadSwagger();
  const config = new DocumentBuilder()
    .setTitle(options.title ?? 'Analytics API')
    .setDescription(
      'Reports on LLM usage, cost, agents and workflows, read from PostgreSQL: closed hours from the hourly ' +
        'rollups, the partial hours at both ends of a range and the current hour from the raw rows, so sums are exact. ' +
        'Unknown query parameters are refused with 400.',
    )
    .setVersion(options.version ?? '1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The analyticsApiToken, when one is configured.' })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  // Keep the analytics operations only (tagged by the controller, plus any route mounted under
  // the API prefix by other analytics controllers such as recent-logs).
  const prefix = settings.analyticsApiPrefix;
  for (const [path, item] of Object.entries(document.paths)) {
    const operations = Object.values(item as Record<string, { tags?: string[] }>);
    const tagged = operations.some((op) => typeof op === 'object' && op?.tags?.includes(ANALYTICS_API_TAG));
    if (!tagged && !path.includes(`${prefix}/`)) delete document.paths[path];
  }
  SwaggerModule.setup(settings.analyticsOpenApiPath, app, document, {
    jsonDocumentUrl: `${settings.analyticsOpenApiPath}/json`,
    customSiteTitle: options.title ?? 'Analytics API',
  });
  return document as AnalyticsOpenApiDocument;
}
