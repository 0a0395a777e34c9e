import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { setupAnalyticsOpenApi } from '../../src/monitoring';
import { createAnalyticsApp } from './support/analytics-app';

const ENDPOINTS = [
  'summary',
  'token-usage',
  'costs',
  'costs/by-tenant',
  'costs/by-user',
  'timeseries',
  'agent-success-rate',
  'agents',
  'workflows',
  'recent-logs',
  'runs',
  'runs/{id}',
  'requests/{requestId}',
];

describe('analytics API OpenAPI description', () => {
  const apps: INestApplication[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  it('serves the JSON document and Swagger UI (assets from the installed package) at analyticsOpenApiPath', async () => {
    let returned: ReturnType<typeof setupAnalyticsOpenApi>;
    const app = await createAnalyticsApp(null, {}, (a) => {
      returned = setupAnalyticsOpenApi(a);
    });
    apps.push(app);
    const http = request(app.getHttpServer());
    const json = await http.get('/api/analytics/docs/json');
    expect(json.status).toBe(200);
    const doc = json.body;
    expect(doc).toEqual(returned!);
    expect(Object.keys(doc.paths).sort()).toEqual(ENDPOINTS.map((e) => `/api/analytics/${e}`).sort());
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });

    const costs = doc.paths['/api/analytics/costs'].get;
    expect(costs.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
      ['agent_id', 'from', 'hours', 'model', 'provider', 'tenant_id', 'to', 'user_id', 'workflow_id'].sort(),
    );
    expect(costs.parameters.find((p: { name: string }) => p.name === 'hours').schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 87600 });
    expect(costs.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CostsResponseDto' });
    for (const status of ['400', '401', '403', '503']) expect(costs.responses[status]).toBeDefined();
    const timeseries = doc.paths['/api/analytics/timeseries'].get;
    const metric = timeseries.parameters.find((p: { name: string }) => p.name === 'metric');
    expect(metric).toMatchObject({ required: true, schema: { enum: ['cost', 'tokens', 'calls', 'errors'] } });
    const money = doc.components.schemas.MoneyDto;
    expect(money.required.sort()).toEqual(['cents', 'centsValue', 'usd', 'usdValue']);
    expect(doc.components.schemas.LatencyStatsDto.properties.percentiles.enum).toEqual(['exact', 'interpolated']);

    const ui = await http.get('/api/analytics/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger-ui');
    const bundle = await http.get('/api/analytics/docs/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.text.length).toBeGreaterThan(100_000);
  });

  it('follows analyticsOpenApiPath and the API prefix; does nothing when the API is off', async () => {
    const app = await createAnalyticsApp(null, { analyticsApiPrefix: '/stats', analyticsOpenApiPath: '/internal/openapi' }, (a) => {
      setupAnalyticsOpenApi(a, { title: 'Usage reports', version: '2.1' });
    });
    apps.push(app);
    const doc = (await request(app.getHttpServer()).get('/internal/openapi/json')).body;
    expect(doc.info).toMatchObject({ title: 'Usage reports', version: '2.1' });
    expect(Object.keys(doc.paths)).toContain('/stats/costs');
    let result: unknown = 'not called';
    const off = await createAnalyticsApp(null, { analyticsApiEnabled: false }, (a) => {
      result = setupAnalyticsOpenApi(a);
    });
    apps.push(off);
    expect(result).toBeUndefined();
    expect((await request(off.getHttpServer()).get('/api/analytics/docs/json')).status).toBe(404);
  });
});
