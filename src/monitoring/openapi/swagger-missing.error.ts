/** The error thrown when the OpenAPI document is asked for and `@nestjs/swagger` is not installed. */
export class SwaggerMissingError extends Error {
  constructor(cause: unknown) {
    super(
      'setupAnalyticsOpenApi needs the optional package @nestjs/swagger, which is not installed: ' +
        'npm install @nestjs/swagger@^12 (NestJS 12) or @nestjs/swagger@^11 (NestJS 11)',
      { cause },
    );
    this.name = 'SwaggerMissingError';
  }
}
