import { Logger, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { setupAnalyticsOpenApi } from '../../src/monitoring';
import { ANALYTICS_CLOSED_MESSAGE } from '../../src/monitoring/analytics/api/analytics-auth.guard';
import type { AnalyticsSqlRunner } from '../../src/monitoring/analytics/api/analytics-aggregate.query';
import { createAnalyticsApp } from './support/analytics-app';

/** Answers every report query with no rows: these tests are about who may ask, not the figures. */
const emptyRunner: AnalyticsSqlRunner = { query: () => Promise.resolve([]) };

const FORBIDDEN = { statusCode: 403, error: 'Forbidden', message: ANALYTICS_CLOSED_MESSAGE };

describe('analytics access rules', () => {
  const apps: INestApplication[] = [];
  // Request log lines stay in memory: the output shows results.
  const quiet = { logDestination: { write: () => undefined } };
  const open = async (runner: AnalyticsSqlRunner, options: Parameters<typeof createAnalyticsApp>[1] = {}) => {
    const app = await createAnalyticsApp(runner, { ...quiet, ...options });
    apps.push(app);
    return { app, http: request(app.getHttpServer()) };
  };

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    jest.restoreAllMocks();
  });

  it('one switch: with analyticsApiEnabled false every analytics route answers 404, recent-logs and the page included', async () => {
    const { http } = await open(emptyRunner, { analyticsApiEnabled: false });
    for (const path of ['/api/analytics/summary', '/api/analytics/recent-logs', '/api/analytics/recent-logs?limit=5', '/api/analytics/ui']) {
      expect([path, (await http.get(path)).status]).toEqual([path, 404]);
    }
  });

  it('recent-logs refuses unknown parameters with a 400 naming them, in the body shape of the report routes', async () => {
    const { http } = await open(emptyRunner);
    const unknown = await http.get('/api/analytics/recent-logs?limit=5&levle=error');
    expect([unknown.status, unknown.body]).toEqual([
      400,
      { statusCode: 400, error: 'Bad Request', message: 'property levle should not exist' },
    ]);
    const report = await http.get('/api/analytics/costs?bogus=1');
    expect([report.status, report.body]).toEqual([
      400,
      { statusCode: 400, error: 'Bad Request', message: 'property bogus should not exist' },
    ]);
    const two = await http.get('/api/analytics/costs?hours=0&bogus=1');
    expect(two.body.message).toBe('property bogus should not exist; hours must be an integer from 1 to 87600');
    expect((await http.get('/api/analytics/recent-logs?limit=5&level=error')).status).toBe(200);
  });

  it('in production without a token or guard: 403 saying how to configure, on the API, recent-logs and the page; no API document; a warning at start', async () => {
    const warnings: string[] = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    const { app, http } = await open(emptyRunner, { environment: 'production' });
    expect(warnings).toContain(`${ANALYTICS_CLOSED_MESSAGE} (they answer 403)`);
    for (const path of ['/api/analytics/summary', '/api/analytics/recent-logs', '/api/analytics/ui']) {
      const res = await http.get(path);
      expect([path, res.status, res.body]).toEqual([path, 403, FORBIDDEN]);
    }
    expect(setupAnalyticsOpenApi(app)).toBeUndefined();
  });

  it('in production the routes open with a token, or explicitly with analyticsPublic', async () => {
    const token = 'analytics-secret-token-0123456789';
    const withToken = (await open(emptyRunner, { environment: 'production', analyticsApiToken: token })).http;
    expect((await withToken.get('/api/analytics/summary')).status).toBe(401);
    expect((await withToken.get('/api/analytics/summary').set('Authorization', `Bearer ${token}`)).status).toBe(200);

    const warnings: string[] = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    const publicApp = (await open(emptyRunner, { environment: 'production', analyticsPublic: true })).http;
    expect((await publicApp.get('/api/analytics/summary')).status).toBe(200);
    expect((await publicApp.get('/api/analytics/recent-logs')).status).toBe(200);
    expect((await publicApp.get('/api/analytics/ui')).status).toBe(200);
    expect(warnings).toContain('analytics routes are served to anyone (analyticsPublic: true)');
  });
});
