import request from 'supertest';
import { defineAnalyticsApiSuite } from './support/analytics-api.suite';
import { reaggregateAll, startModuleApp, type ModuleApp } from './support/analytics-module-app';
import { generateWorkload, insertWorkload } from './support/workload';

// The module's embedded database (PGlite in a worker thread, reached through `pg`).
describe('analytics API [PGlite]', () => defineAnalyticsApiSuite('pglite'));
describe('analytics API [PGlite] [fastify]', () => defineAnalyticsApiSuite('pglite', 'fastify'));

describe('analytics API [PGlite] with a session time zone other than UTC', () => {
  let m: ModuleApp;
  afterAll(async () => {
    await m?.close();
  });

  it('still buckets by UTC hour and UTC day (a +05:30 zone would shift both)', async () => {
    m = await startModuleApp('pglite');
    // The embedded database has one connection: this setting applies to every query below.
    await m.source.query(`SET TIME ZONE 'Asia/Kolkata'`);
    const midnight = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000;
    const w = generateWorkload({ seed: 5, from: new Date(midnight - 3 * 3_600_000), to: new Date(midnight + 3 * 3_600_000), llm: 600, agents: 0, workflows: 0 });
    await insertWorkload(m.source, w);
    await reaggregateAll(m);
    const from = new Date(midnight - 2 * 3_600_000 - 1000).toISOString();
    const to = new Date(midnight + 2 * 3_600_000 + 1000).toISOString();
    const days = (await request(m.app.getHttpServer()).get(`/api/analytics/timeseries?metric=calls&bucket=day&from=${from}&to=${to}`)).body;
    const inRange = w.llm.filter((r) => r.timestamp.toISOString() >= from && r.timestamp.toISOString() < to);
    expect(days.points).toEqual([
      { start: new Date(midnight - 86_400_000).toISOString(), value: inRange.filter((r) => r.timestamp.getTime() < midnight).length, exact: expect.any(String) },
      { start: new Date(midnight).toISOString(), value: inRange.filter((r) => r.timestamp.getTime() >= midnight).length, exact: expect.any(String) },
    ]);
    const hours = (await request(m.app.getHttpServer()).get(`/api/analytics/timeseries?metric=calls&from=${from}&to=${to}`)).body;
    expect(hours.source.rollup).not.toBeNull();
    for (const p of hours.points) {
      const start = Date.parse(p.start);
      expect(start % 3_600_000).toBe(0);
      expect(p.value).toBe(inRange.filter((r) => r.timestamp.getTime() >= start && r.timestamp.getTime() < start + 3_600_000).length);
    }
  });
});
