import 'reflect-metadata';

/**
 * The OpenAPI decorators record what they decorate and replay it once `@nestjs/swagger` is loaded;
 * without the package, loading fails with one error naming it. Each test loads a fresh copy of the
 * module (its record is module state).
 */
describe('OpenAPI decorators without a hard dependency on @nestjs/swagger', () => {
  afterEach(() => {
    jest.resetModules();
    jest.dontMock('@nestjs/swagger');
  });

  it('record decorations and apply them when the package is loaded', () => {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const openapi = require('./openapi.decorators') as typeof import('./openapi.decorators');
      class Dto {
        count!: number;
      }
      openapi.ApiProperty({ description: 'how many' })(Dto.prototype, 'count');
      class Ctl {
        list(): void {}
      }
      openapi.ApiOperation({ summary: 'List' })(
        Ctl.prototype,
        'list',
        Object.getOwnPropertyDescriptor(Ctl.prototype, 'list')!,
      );
      openapi.ApiTags('things')(Ctl);
      // Nothing reaches the metadata before the package is loaded.
      expect(Reflect.getMetadataKeys(Dto.prototype)).not.toContain(
        'swagger/apiModelPropertiesArray',
      );
      expect(Reflect.getMetadata('swagger/apiOperation', Ctl.prototype.list)).toBeUndefined();

      openapi.loadSwagger();
      expect(Reflect.getMetadata('swagger/apiModelPropertiesArray', Dto.prototype)).toEqual([
        ':count',
      ]);
      expect(
        Reflect.getMetadata('swagger/apiModelProperties', Dto.prototype, 'count'),
      ).toMatchObject({ description: 'how many' });
      expect(Reflect.getMetadata('swagger/apiOperation', Ctl.prototype.list)).toEqual({
        summary: 'List',
      });
      expect(Reflect.getMetadata('swagger/apiUseTags', Ctl)).toEqual(['things']);

      // Once loaded, later decorations apply at once.
      class Later {
        name!: string;
      }
      openapi.ApiProperty()(Later.prototype, 'name');
      expect(Reflect.getMetadata('swagger/apiModelPropertiesArray', Later.prototype)).toEqual([
        ':name',
      ]);
    });
  });

  it('fail with an error naming the package when it is not installed', () => {
    jest.isolateModules(() => {
      jest.doMock('@nestjs/swagger', () => {
        throw Object.assign(
          new Error("Cannot find module '@nestjs/swagger' from 'openapi.decorators.ts'"),
          { code: 'MODULE_NOT_FOUND' },
        );
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const openapi = require('./openapi.decorators') as typeof import('./openapi.decorators');
      const { SwaggerMissingError } =
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('./swagger-missing.error') as typeof import('./swagger-missing.error');
      class Dto {
        count!: number;
      }
      openapi.ApiProperty()(Dto.prototype, 'count'); // decorating still works
      expect(() => openapi.loadSwagger()).toThrow(SwaggerMissingError);
      expect(() => openapi.loadSwagger()).toThrow(
        'setupAnalyticsOpenApi needs the optional package @nestjs/swagger, which is not installed: npm install @nestjs/swagger@^12 (NestJS 12) or @nestjs/swagger@^11 (NestJS 11)',
      );
    });
  });
});
