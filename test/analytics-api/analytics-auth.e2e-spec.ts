import {
  Controller,
  Get,
  Injectable,
  Module,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { of } from 'rxjs';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import {
  AnalyticsAuthGuard,
  MonitoringModule,
  MonitoringOptionsError,
  resolveMonitoringOptions,
} from '../../src/monitoring';
import { ANALYTICS_SQL_RUNNER } from '../../src/monitoring/analytics/api/analytics-api.constants';
import { createHttpAdapter, describeEachAdapter, waitUntilReady } from '../support/http-adapters';
import { createAnalyticsApp } from './support/analytics-app';
import { createPostgresDataSource } from './support/analytics-schema';
import { startPgliteServer, type PgliteServer } from './support/pglite-server';
import { generateWorkload, insertWorkload } from './support/workload';

const TOKEN = 'analytics-secret-token-0123456789';
const UNAUTHORIZED = {
  statusCode: 401,
  error: 'Unauthorized',
  message: 'a valid analytics API token is required (Authorization: Bearer <token>)',
};

/** A guard of the app, with a dependency of its own (resolved by Nest). */
@Injectable()
class RoleReader {
  role(context: ExecutionContext): string | undefined {
    return context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-role'];
  }
}

@Injectable()
class AdminOnlyGuard implements CanActivate {
  constructor(private readonly roles: RoleReader) {}
  canActivate(context: ExecutionContext): boolean {
    return this.roles.role(context) === 'admin';
  }
}

describeEachAdapter('analytics API access control', (adapter) => {
  let server: PgliteServer;
  let source: DataSource;
  const apps: INestApplication[] = [];
  const open = async (
    runner: Parameters<typeof createAnalyticsApp>[0],
    options?: Parameters<typeof createAnalyticsApp>[1],
    configure?: Parameters<typeof createAnalyticsApp>[2],
  ) => {
    const app = await createAnalyticsApp(runner, options, configure, adapter);
    apps.push(app);
    return request(app.getHttpServer());
  };

  beforeAll(async () => {
    server = await startPgliteServer();
    source = await createPostgresDataSource(server.url, 1);
    const now = Date.now();
    await insertWorkload(source, generateWorkload({ seed: 3, from: new Date(now - 5 * 3_600_000), to: new Date(now - 1000), llm: 50, agents: 10, workflows: 5 }));
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await source?.destroy();
    await server?.stop();
  });

  afterEach(() => {
    delete process.env['ANALYTICS_API_TOKEN'];
  });

  it('with a token configured: 401 without it or with a wrong one, 200 with it', async () => {
    const http = await open(source, { analyticsApiToken: TOKEN });
    const missing = await http.get('/api/analytics/costs');
    expect([missing.status, missing.body]).toEqual([401, UNAUTHORIZED]);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="analytics"');
    for (const header of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, 'Bearer', `Bearer ${TOKEN} extra`]) {
      const res = await http.get('/api/analytics/summary').set('Authorization', header);
      expect([header, res.status, res.body]).toEqual([header, 401, UNAUTHORIZED]);
    }
    const good = await http.get('/api/analytics/costs?hours=6').set('Authorization', `Bearer ${TOKEN}`);
    expect(good.status).toBe(200);
    expect(good.body.calls).toBe(50);
    const lower = await http.get('/api/analytics/summary').set('Authorization', `bearer ${TOKEN}`);
    expect(lower.status).toBe(200);
    // The token is checked before the parameters: nothing about the API leaks without it.
    const badParams = await http.get('/api/analytics/costs?hours=0');
    expect(badParams.status).toBe(401);
  });

  it('reads the token from ANALYTICS_API_TOKEN', async () => {
    process.env['ANALYTICS_API_TOKEN'] = TOKEN;
    const http = await open(source, {});
    expect((await http.get('/api/analytics/summary')).status).toBe(401);
    expect((await http.get('/api/analytics/summary').set('Authorization', `Bearer ${TOKEN}`)).status).toBe(200);
  });

  it('runs a guard class of the app (with its dependencies): 403 when it refuses', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MonitoringModule.forRoot({ defaultMetricsEnabled: false, analyticsEnabled: false, analyticsGuard: AdminOnlyGuard })],
      providers: [RoleReader],
    })
      .overrideProvider(ANALYTICS_SQL_RUNNER)
      .useValue(source)
      .compile();
    const app = moduleRef.createNestApplication(createHttpAdapter(adapter), { logger: false });
    await app.init();
    await waitUntilReady(app);
    apps.push(app);
    const http = request(app.getHttpServer());
    const refused = await http.get('/api/analytics/agents');
    expect([refused.status, refused.body]).toEqual([403, { statusCode: 403, error: 'Forbidden', message: 'Forbidden resource' }]);
    expect((await http.get('/api/analytics/agents').set('x-role', 'admin')).status).toBe(200);
  });

  it('fails the start, naming the missing dependency, when a guard class cannot be built', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MonitoringModule.forRoot({ defaultMetricsEnabled: false, analyticsEnabled: false, analyticsGuard: AdminOnlyGuard })],
    })
      .overrideProvider(ANALYTICS_SQL_RUNNER)
      .useValue(source)
      .compile();
    const app = moduleRef.createNestApplication(createHttpAdapter(adapter), { logger: false });
    await expect(app.init()).rejects.toThrow(/^analyticsGuard AdminOnlyGuard: cannot resolve its dependency RoleReader \(argument 0\)/);
    await app.close();
  });

  it('runs a guard instance (Observable or Promise answers); token and guard must both pass', async () => {
    const seen: string[] = [];
    const guard: CanActivate = {
      canActivate: (context) => {
        const req = context.switchToHttp().getRequest<{ url: string; headers: Record<string, string> }>();
        seen.push(req.url);
        return of(req.headers['x-tenant'] === 'ops');
      },
    };
    const http = await open(source, { analyticsGuard: guard, analyticsApiToken: TOKEN });
    expect((await http.get('/api/analytics/costs').set('x-tenant', 'ops')).status).toBe(401);
    expect(seen).toEqual([]);
    expect((await http.get('/api/analytics/costs').set('Authorization', `Bearer ${TOKEN}`)).status).toBe(403);
    expect((await http.get('/api/analytics/costs').set('Authorization', `Bearer ${TOKEN}`).set('x-tenant', 'ops')).status).toBe(200);
    expect(seen).toEqual(['/api/analytics/costs', '/api/analytics/costs']);

    const asyncGuard = await open(source, { analyticsGuard: { canActivate: async () => false } });
    expect((await asyncGuard.get('/api/analytics/summary')).status).toBe(403);
  });

  it('protectMetrics puts /metrics behind the same token; off, /metrics stays open', async () => {
    const protectedHttp = await open(source, { analyticsApiToken: TOKEN, protectMetrics: true });
    const refused = await protectedHttp.get('/metrics');
    expect([refused.status, refused.body]).toEqual([401, UNAUTHORIZED]);
    const allowed = await protectedHttp.get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    expect(allowed.status).toBe(200);
    expect(allowed.text).toContain('magure_');
    const open_ = await open(source, { analyticsApiToken: TOKEN });
    expect((await open_.get('/metrics')).status).toBe(200);
  });

  it('serves the page without the token (it holds no data) and the API behind it', async () => {
    const http = await open(source, { analyticsApiToken: TOKEN });
    const page = await http.get('/api/analytics/ui');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'/);
    expect(page.text).toContain('<meta name="analytics-api-base" content="/api/analytics">');
    expect(page.text).not.toContain(TOKEN);
  });

  it('applies the token rule to recent-logs, and exports the guard for an app\'s own routes', async () => {
    @Controller('api/analytics')
    @UseGuards(AnalyticsAuthGuard)
    class LogsController {
      @Get('custom-report')
      report() {
        return { rows: [] };
      }
    }
    @Module({ controllers: [LogsController] })
    class LogsModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [MonitoringModule.forRoot({ defaultMetricsEnabled: false, analyticsEnabled: false, analyticsApiToken: TOKEN }), LogsModule],
    })
      .overrideProvider(ANALYTICS_SQL_RUNNER)
      .useValue(source)
      .compile();
    const app = moduleRef.createNestApplication(createHttpAdapter(adapter), { logger: false });
    await app.init();
    await waitUntilReady(app);
    apps.push(app);
    const http = request(app.getHttpServer());
    expect((await http.get('/api/analytics/recent-logs')).status).toBe(401);
    const logs = await http.get('/api/analytics/recent-logs').set('Authorization', `Bearer ${TOKEN}`);
    expect(logs.status).toBe(200);
    expect(logs.body).toMatchObject({ source: 'memory', logs: expect.any(Array) });
    expect((await http.get('/api/analytics/custom-report')).status).toBe(401);
    expect((await http.get('/api/analytics/custom-report').set('Authorization', `Bearer ${TOKEN}`)).body).toEqual({ rows: [] });
  });

  it('mounts the API at analyticsApiPrefix, the page at analyticsUiPath, behind a global prefix too', async () => {
    const http = await open(source, { analyticsApiPrefix: '/internal/stats/' }, (app) => {
      app.setGlobalPrefix('v1');
    });
    expect((await http.get('/v1/internal/stats/costs')).status).toBe(200);
    expect((await http.get('/v1/api/analytics/costs')).status).toBe(404);
    const page = await http.get('/v1/internal/stats/ui');
    expect(page.text).toContain('<meta name="analytics-api-base" content="/v1/internal/stats">');
    const custom = await open(source, { analyticsUiPath: '/dashboards/llm' });
    expect((await custom.get('/dashboards/llm')).status).toBe(200);
    expect((await custom.get('/api/analytics/ui')).status).toBe(404);
  });

  it('analyticsApiEnabled false: no routes; analyticsUiEnabled false: no page', async () => {
    const off = await open(source, { analyticsApiEnabled: false });
    expect((await off.get('/api/analytics/costs')).status).toBe(404);
    expect((await off.get('/api/analytics/ui')).status).toBe(404);
    const noUi = await open(source, { analyticsUiEnabled: false });
    expect((await noUi.get('/api/analytics/ui')).status).toBe(404);
    expect((await noUi.get('/api/analytics/costs')).status).toBe(200);
  });

  it('forRootAsync: routes at the prefix from the environment; switched off by the factory answers 404', async () => {
    process.env['ANALYTICS_API_PREFIX'] = '/async/analytics';
    try {
      const build = async (enabled: boolean) => {
        const moduleRef = await Test.createTestingModule({
          imports: [
            MonitoringModule.forRootAsync({
              useFactory: async () => ({ defaultMetricsEnabled: false, analyticsEnabled: false, analyticsApiEnabled: enabled, analyticsApiToken: TOKEN }),
            }),
          ],
        })
          .overrideProvider(ANALYTICS_SQL_RUNNER)
          .useValue(source)
          .compile();
        const app = moduleRef.createNestApplication(createHttpAdapter(adapter), { logger: false });
        await app.init();
        await waitUntilReady(app);
        apps.push(app);
        return request(app.getHttpServer());
      };
      const on = await build(true);
      expect((await on.get('/async/analytics/summary')).status).toBe(401);
      expect((await on.get('/async/analytics/summary').set('Authorization', `Bearer ${TOKEN}`)).status).toBe(200);
      const off = await build(false);
      expect((await off.get('/async/analytics/summary').set('Authorization', `Bearer ${TOKEN}`)).status).toBe(404);
    } finally {
      delete process.env['ANALYTICS_API_PREFIX'];
    }
  });

  it('answers 503, not 500, without storage or when the database fails', async () => {
    const none = await open(null);
    const res = await none.get('/api/analytics/costs');
    expect([res.status, res.body]).toEqual([
      503,
      { statusCode: 503, error: 'Service Unavailable', message: 'analytics storage is disabled (analyticsEnabled: false)' },
    ]);
    const failing = await open({ query: async () => Promise.reject(new Error('connection terminated unexpectedly')) });
    const down = await failing.get('/api/analytics/summary');
    expect([down.status, down.body]).toEqual([
      503,
      { statusCode: 503, error: 'Service Unavailable', message: 'analytics database query failed' },
    ]);
    // Bad input is still a 400 without storage: validation comes first.
    expect((await none.get('/api/analytics/costs?hours=-3')).status).toBe(400);
  });

  it('validates the access options at startup, naming the field and never echoing the token', () => {
    const attempt = (options: Parameters<typeof resolveMonitoringOptions>[0], env = {}) => {
      try {
        resolveMonitoringOptions(options, env);
        return 'accepted';
      } catch (error) {
        expect(error).toBeInstanceOf(MonitoringOptionsError);
        return (error as Error).message;
      }
    };
    expect(attempt({ analyticsApiToken: 'short-secret' })).toBe(
      'Invalid monitoring option "analyticsApiToken": must be at least 16 printable characters without spaces',
    );
    expect(attempt({}, { ANALYTICS_API_TOKEN: 'with spaces in the token' })).not.toContain('with spaces');
    expect(attempt({ protectMetrics: true })).toBe(
      'Invalid monitoring option "protectMetrics": needs analyticsApiToken or analyticsGuard to protect with',
    );
    expect(attempt({}, { PROTECT_METRICS: 'maybe' })).toBe(
      'Invalid monitoring option "protectMetrics" (environment variable PROTECT_METRICS="maybe"): must be true or false (or 1/0, yes/no, on/off)',
    );
    expect(attempt({ analyticsGuard: 'admin' as never })).toBe(
      'Invalid monitoring option "analyticsGuard": must be a guard class or an object with a canActivate() method',
    );
    expect(attempt({ analyticsApiPrefix: 'api/analytics' })).toMatch(/^Invalid monitoring option "analyticsApiPrefix": must be an absolute URL path/);
    expect(attempt({ analyticsUiPath: '/ui/:id' })).toMatch(/^Invalid monitoring option "analyticsUiPath"/);
    expect(attempt({ analyticsQueryCacheSize: -1 })).toBe(
      'Invalid monitoring option "analyticsQueryCacheSize": must be an integer from 0 to 10000000',
    );
    const resolved = resolveMonitoringOptions({ analyticsApiPrefix: '/stats/' }, {});
    expect([resolved.analyticsApiPrefix, resolved.analyticsUiPath, resolved.analyticsOpenApiPath]).toEqual([
      '/stats',
      '/stats/ui',
      '/stats/docs',
    ]);
    const defaults = resolveMonitoringOptions({}, {});
    expect(defaults).toMatchObject({
      analyticsApiEnabled: true,
      analyticsApiPrefix: '/api/analytics',
      analyticsUiEnabled: true,
      analyticsUiPath: '/api/analytics/ui',
      analyticsOpenApiPath: '/api/analytics/docs',
      protectMetrics: false,
      analyticsQueryCacheSize: 50_000,
    });
    expect(defaults.analyticsApiToken).toBeUndefined();
  });
});
