/**
 * The OpenAPI decorators of the analytics API, without a hard dependency on `@nestjs/swagger`.
 *
 * `@nestjs/swagger` is an optional peer: each major peers one NestJS major only, and most apps never
 * serve the analytics document. So the DTOs and controllers are decorated through this module,
 * which records every decoration and replays it with the real `@nestjs/swagger` decorators the
 * first time the document is built (`loadSwagger()`, called by `setupAnalyticsOpenApi`). Without
 * the package the decorations stay recorded and cost nothing; once it is loaded, later decorations
 * (controllers created by each `forRoot`) are applied at once.
 */
import type * as Swagger from '@nestjs/swagger';
import { SwaggerMissingError } from './swagger-missing.error';

type SwaggerExports = typeof Swagger;
type DecoratorFactoryName =
  | 'ApiBadRequestResponse'
  | 'ApiBearerAuth'
  | 'ApiExcludeController'
  | 'ApiForbiddenResponse'
  | 'ApiNotFoundResponse'
  | 'ApiOkResponse'
  | 'ApiOperation'
  | 'ApiProperty'
  | 'ApiPropertyOptional'
  | 'ApiQuery'
  | 'ApiServiceUnavailableResponse'
  | 'ApiTags'
  | 'ApiUnauthorizedResponse';

type AnyDecorator = (
  target: object,
  key?: string | symbol,
  descriptor?: PropertyDescriptor,
) => unknown;

interface Decoration {
  factory: DecoratorFactoryName;
  args: unknown[];
  target: object;
  key: string | symbol | undefined;
}

const pending: Decoration[] = [];
let swagger: SwaggerExports | undefined;

function apply(real: SwaggerExports, { factory, args, target, key }: Decoration): void {
  const decorator = (real[factory] as (...a: unknown[]) => AnyDecorator)(...args);
  if (key === undefined) decorator(target);
  // Method decorators keep their metadata on the function in the descriptor; reading the
  // descriptor now gives the function Nest routes to (no wrapper replaces controller methods).
  else decorator(target, key, Object.getOwnPropertyDescriptor(target, key));
}

function deferred<F extends DecoratorFactoryName>(factory: F): SwaggerExports[F] {
  const create =
    (...args: unknown[]): AnyDecorator =>
    (target, key) => {
      const decoration = { factory, args, target, key };
      if (swagger) apply(swagger, decoration);
      else pending.push(decoration);
    };
  return create as unknown as SwaggerExports[F];
}

/**
 * Loads `@nestjs/swagger` (from the app's dependencies) and applies every recorded decoration.
 * Throws `SwaggerMissingError` when the package is not installed.
 */
export function loadSwagger(): SwaggerExports {
  if (swagger) return swagger;
  let loaded: SwaggerExports;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require('@nestjs/swagger') as SwaggerExports;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as { message?: string }).message ?? '';
    if (code === 'MODULE_NOT_FOUND' && message.includes('@nestjs/swagger'))
      throw new SwaggerMissingError(error);
    throw error;
  }
  for (const decoration of pending.splice(0)) apply(loaded, decoration);
  swagger = loaded;
  return loaded;
}

export const ApiBadRequestResponse = deferred('ApiBadRequestResponse');
export const ApiBearerAuth = deferred('ApiBearerAuth');
export const ApiExcludeController = deferred('ApiExcludeController');
export const ApiForbiddenResponse = deferred('ApiForbiddenResponse');
export const ApiNotFoundResponse = deferred('ApiNotFoundResponse');
export const ApiOkResponse = deferred('ApiOkResponse');
export const ApiOperation = deferred('ApiOperation');
export const ApiProperty = deferred('ApiProperty');
export const ApiPropertyOptional = deferred('ApiPropertyOptional');
export const ApiQuery = deferred('ApiQuery');
export const ApiServiceUnavailableResponse = deferred('ApiServiceUnavailableResponse');
export const ApiTags = deferred('ApiTags');
export const ApiUnauthorizedResponse = deferred('ApiUnauthorizedResponse');
