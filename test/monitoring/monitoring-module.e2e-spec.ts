import 'reflect-metadata';
import {
  BadRequestException,
  Controller,
  Get,
  Injectable,
  Module,
  Param,
  ParseIntPipe,
  UseGuards,
  type CanActivate,
  type INestApplication,
  type ModuleMetadata,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import request from 'supertest';
import { MonitoringModule, MonitoringOptionsError, TrackAgent, MonitoringContext } from '../../src/monitoring';
import { createAppOn, describeEachAdapter, type HttpAdapterName } from '../support/http-adapters';
import { parsePrometheusText, sampleValue, sumValues } from '../support/prometheus-text';

class Agent {
  constructor(readonly id: string) {}
  @TrackAgent({ agentType: 'test' })
  async execute() {
    return MonitoringContext.current();
  }
}

class Deny implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

/** Holds `/items/slow/wait` requests open until the test releases them. */
const gate = { open: undefined as (() => void) | undefined };

@Controller('items')
class ItemsController {
  @Get('slow/wait')
  async slow() {
    await new Promise<void>((resolve) => (gate.open = resolve));
    return 'released';
  }
  @Get('denied')
  @UseGuards(Deny)
  denied() {
    return 'never';
  }
  @Get(':n')
  byNumber(@Param('n', ParseIntPipe) n: number) {
    return { n };
  }
  @Get('boom/now')
  boom() {
    throw new BadRequestException('bad');
  }
  @Get('agent/:id')
  agent(@Param('id') id: string) {
    MonitoringContext.setPrincipal({ tenantId: 'from-handler' });
    return new Agent(id).execute();
  }
}

async function createAppWith(
  adapter: HttpAdapterName,
  imports: NonNullable<ModuleMetadata['imports']>,
): Promise<INestApplication> {
  @Module({ imports, controllers: [ItemsController] })
  class TestModule {}
  return createAppOn(adapter, TestModule, { logger: false, abortOnError: false });
}

const metrics = async (app: INestApplication, path = '/metrics') =>
  parsePrometheusText((await request(app.getHttpServer()).get(path).expect(200)).text);

describeEachAdapter('MonitoringModule', (adapter) => {
  const createApp = (imports: NonNullable<ModuleMetadata['imports']>) => createAppWith(adapter, imports);

  it('counts requests rejected by guards and pipes, and errors thrown by handlers', async () => {
    const app = await createApp([MonitoringModule.forRoot({ analyticsEnabled: false })]);
    const s = app.getHttpServer();
    await request(s).get('/items/denied').expect(403);
    await request(s).get('/items/not-a-number').expect(400);
    await request(s).get('/items/boom/now').expect(400);
    await request(s).get('/items/7').expect(200);
    const m = await metrics(app);
    const http = (endpoint: string, status: string) => sampleValue(m, 'magure_http_requests_total', { method: 'GET', endpoint, status_code: status });
    expect(http('/items/denied', '403')).toBe(1);
    expect(http('/items/:n', '400')).toBe(1);
    expect(http('/items/boom/now', '400')).toBe(1);
    expect(http('/items/:n', '200')).toBe(1);
    await app.close();
  });

  it('counts requests in progress by route template at scrape time, and never tracks scrapes', async () => {
    const app = await createApp([MonitoringModule.forRoot({ analyticsEnabled: false })]);
    await app.listen(0, '127.0.0.1');
    const slow = request(app.getHttpServer()).get('/items/slow/wait').then((r) => r.text);
    for (let i = 0; i < 200 && gate.open === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    const during = await metrics(app);
    expect(sampleValue(during, 'magure_http_requests_in_progress', { method: 'GET', endpoint: '/items/slow/wait' })).toBe(1);
    gate.open!();
    gate.open = undefined;
    expect(await slow).toBe('released');
    const after = await metrics(app);
    expect(sampleValue(after, 'magure_http_requests_in_progress', { method: 'GET', endpoint: '/items/slow/wait' })).toBe(0);
    expect(sampleValue(after, 'magure_http_requests_total', { method: 'GET', endpoint: '/items/slow/wait', status_code: '200' })).toBe(1);
    expect(after.filter((x) => x.labels.endpoint === '/metrics')).toEqual([]);
    await app.close();
  });

  it('two apps in one process keep separate registries and events', async () => {
    const a = await createApp([MonitoringModule.forRoot({ analyticsEnabled: false, appName: 'a' })]);
    const b = await createApp([MonitoringModule.forRoot({ analyticsEnabled: false, appName: 'b' })]);
    await request(a.getHttpServer()).get('/items/agent/agent-a').expect(200);
    await request(b.getHttpServer()).get('/items/agent/agent-b').expect(200);
    await request(b.getHttpServer()).get('/items/agent/agent-b').expect(200);
    const ma = await metrics(a);
    const mb = await metrics(b);
    const count = (m: typeof ma, id: string) => sampleValue(m, 'magure_agent_executions_total', { agent_id: id, agent_type: 'test', status: 'success' });
    expect([count(ma, 'agent-a'), count(ma, 'agent-b')]).toEqual([1, undefined]);
    expect([count(mb, 'agent-a'), count(mb, 'agent-b')]).toEqual([undefined, 2]);
    await a.close();
    await b.close();
  });

  it('setPrincipal inside a request reaches nested scopes', async () => {
    const app = await createApp([MonitoringModule.forRoot({ analyticsEnabled: false })]);
    const res = await request(app.getHttpServer()).get('/items/agent/x1').set('X-Request-Id', 'r-1').expect(200);
    expect(res.body).toMatchObject({ requestId: 'r-1', tenantId: 'from-handler', agentId: 'x1', agentType: 'test' });
    await app.close();
  });

  it('forRootAsync takes options from an injected factory', async () => {
    @Injectable()
    class Settings {
      readonly prefix = 'acme_';
    }
    @Module({ providers: [Settings], exports: [Settings] })
    class SettingsModule {}
    const app = await createApp([
      MonitoringModule.forRootAsync({
        imports: [SettingsModule],
        inject: [Settings],
        useFactory: (settings: Settings) => ({ metricsPrefix: settings.prefix, analyticsEnabled: false }),
      }),
    ]);
    await request(app.getHttpServer()).get('/items/agent/z').expect(200);
    const m = await metrics(app);
    expect(sampleValue(m, 'acme_agent_executions_total', { agent_id: 'z', agent_type: 'test', status: 'success' })).toBe(1);
    expect(sumValues(m, 'magure_agent_executions_total')).toBe(0);
    await app.close();
  });

  it('prometheusEnabled: false serves no /metrics; options are validated at import', async () => {
    const app = await createApp([MonitoringModule.forRoot({ prometheusEnabled: false, analyticsEnabled: false })]);
    await request(app.getHttpServer()).get('/metrics').expect(404);
    await app.close();
    expect(() => MonitoringModule.forRoot({ metricsPrefix: '9-bad' })).toThrow(MonitoringOptionsError);
    expect(() => MonitoringModule.forRoot({ metricsPrefix: '9-bad' })).toThrow(/"metricsPrefix"/);
  });

  it('caps label cardinality and folds the rest into "other"', async () => {
    const app = await createApp([MonitoringModule.forRoot({ analyticsEnabled: false, maxLabelValues: 3 })]);
    for (let i = 0; i < 6; i++) await request(app.getHttpServer()).get(`/items/agent/agent-${i}`).expect(200);
    const m = await metrics(app);
    const ids = m.filter((x) => x.name === 'magure_agent_executions_total').map((x) => [x.labels.agent_id, x.value]);
    expect(ids).toEqual([
      ['agent-0', 1],
      ['agent-1', 1],
      ['agent-2', 1],
      ['other', 3],
    ]);
    expect(sampleValue(m, 'magure_metric_label_values_folded_total', { label: 'agent_id' })).toBe(3);
    await app.close();
  });

  if (adapter === 'express') {
    it('on an Express adapter without the router callback, reads the route from Express itself', async () => {
      @Module({ imports: [MonitoringModule.forRoot({ analyticsEnabled: false })], controllers: [ItemsController] })
      class TestModule {}
      const express = new ExpressAdapter();
      // An adapter of a Nest version without setOnRouteTriggered.
      Object.assign(express, { setOnRouteTriggered: undefined, getOnRouteTriggered: undefined });
      const app = await NestFactory.create(TestModule, express, { logger: false, abortOnError: false });
      await app.init();
      await request(app.getHttpServer()).get('/items/7').expect(200);
      await request(app.getHttpServer()).get('/items/denied').expect(403);
      await request(app.getHttpServer()).get('/nowhere').expect(404);
      const m = await metrics(app);
      const http = (endpoint: string, status: string) => sampleValue(m, 'magure_http_requests_total', { method: 'GET', endpoint, status_code: status });
      expect([http('/items/:n', '200'), http('/items/denied', '403'), http('unmatched', '404')]).toEqual([1, 1, 1]);
      await app.close();
    });
  }

  it('leaves no runtime behind after close: decorators pass through again', async () => {
    const app = await createApp([MonitoringModule.forRoot({ analyticsEnabled: false })]);
    await app.close();
    const { currentRuntime } = await import('../../src/monitoring/instrumentation/monitoring-runtime');
    expect(currentRuntime()).toBeUndefined();
  });
});
