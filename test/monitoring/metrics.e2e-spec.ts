import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import type { CapturingSink } from '../support/event-capture';
import { startDemoApp } from '../support/demo-app';
import { describeEachAdapter } from '../support/http-adapters';
import { parsePrometheusText, sampleValue, sumValues } from '../support/prometheus-text';

describeEachAdapter('demo monolith → /metrics (e2e)', (adapter) => {
  let app: INestApplication;
  let sink: CapturingSink;

  beforeAll(async () => {
    ({ app, sink } = await startDemoApp({}, adapter));
    const server = app.getHttpServer();
    for (let i = 0; i < 3; i++) await request(server).post('/agents/kpi-calculator/execute').send({ input: 'q3' }).expect(200);
    for (let i = 0; i < 2; i++) await request(server).post('/workflows/daily-kpi-report/run').send({}).expect(200);
    await request(server).post('/agents/research-assistant/execute').expect(200);
    await request(server).post('/agents/no-such-agent/execute').expect(404);
    await request(server).get('/definitely/not/a/route').expect(404);
    await request(server).get('/agents').set('X-Request-Id', 'client-id-42').expect(200).expect('X-Request-Id', 'client-id-42');
    await request(server).get('/agents').set('X-Request-Id', 'bad id with spaces').expect(200);
  });

  afterAll(async () => {
    await app.close();
  });

  async function scrape() {
    const res = await request(app.getHttpServer()).get('/metrics').expect(200);
    expect(res.headers['content-type']).toContain('text/plain');
    return parsePrometheusText(res.text);
  }

  it('counts HTTP requests by route template, never the raw path', async () => {
    const s = await scrape();
    const http = 'magure_http_requests_total';
    expect(sampleValue(s, http, { method: 'POST', endpoint: '/agents/:id/execute', status_code: '200' })).toBe(4);
    expect(sampleValue(s, http, { method: 'POST', endpoint: '/agents/:id/execute', status_code: '404' })).toBe(1);
    expect(sampleValue(s, http, { method: 'POST', endpoint: '/workflows/:id/run', status_code: '200' })).toBe(2);
    expect(sampleValue(s, http, { method: 'GET', endpoint: 'unmatched', status_code: '404' })).toBe(1);
    expect(sampleValue(s, http, { method: 'GET', endpoint: '/agents', status_code: '200' })).toBe(2);
    expect(s.some((x) => x.labels.endpoint?.includes('kpi-calculator') || x.labels.endpoint?.includes('definitely'))).toBe(false);
    expect(sampleValue(s, 'magure_http_request_duration_seconds_count', { method: 'POST', endpoint: '/agents/:id/execute' })).toBe(5);
    expect(sumValues(s, 'magure_http_requests_in_progress')).toBe(0);
  });

  it('counts agents, tools, workflows and LLM calls exactly', async () => {
    const s = await scrape();
    const agent = (id: string, type: string) => sampleValue(s, 'magure_agent_executions_total', { agent_id: id, agent_type: type, status: 'success' });
    expect(agent('kpi-calculator', 'llm')).toBe(5);
    expect(agent('data-fetcher', 'tool')).toBe(2);
    expect(agent('report-writer', 'llm')).toBe(2);
    expect(agent('research-assistant', 'rag')).toBe(1);
    expect(sampleValue(s, 'magure_workflow_executions_total', { workflow_id: 'daily-kpi-report', status: 'completed' })).toBe(2);
    expect(sampleValue(s, 'magure_workflows_active')).toBe(0);
    expect(sampleValue(s, 'magure_agent_tool_calls_total', { agent_id: 'data-fetcher', tool_name: 'calculator', status: 'success' })).toBe(2);
    expect(sampleValue(s, 'magure_agent_tool_calls_total', { agent_id: 'research-assistant', tool_name: 'sql_query', status: 'success' })).toBe(1);
    expect(sampleValue(s, 'magure_llm_requests_total', { provider: 'openai', model: 'gpt-4o-mini', status: 'success' })).toBe(5);
    expect(sampleValue(s, 'magure_llm_requests_total', { provider: 'anthropic', model: 'claude-3-5-sonnet-20241022', status: 'success' })).toBe(2);
    expect(sampleValue(s, 'magure_llm_requests_total', { provider: 'openai', model: 'gpt-4o', status: 'success' })).toBe(1);
  });

  it('exports token and cost totals equal to the sum of the recorded calls', async () => {
    const s = await scrape();
    for (const model of ['gpt-4o-mini', 'gpt-4o', 'claude-3-5-sonnet-20241022']) {
      const calls = sink.ofKind('llm_call').filter((e) => e.model === model);
      const prompt = calls.reduce((n, e) => n + (e.usage?.inputTokens ?? 0), 0);
      const completion = calls.reduce((n, e) => n + (e.usage?.outputTokens ?? 0), 0);
      const cost = calls.reduce((n, e) => n + (e.costNanoCents ?? 0), 0) / 1e9;
      expect(prompt).toBeGreaterThan(0);
      expect(sumValues(s, 'magure_llm_tokens_total', { model, token_type: 'prompt' })).toBe(prompt);
      expect(sumValues(s, 'magure_llm_tokens_total', { model, token_type: 'completion' })).toBe(completion);
      expect(sumValues(s, 'magure_llm_cost_cents_total', { model })).toBeCloseTo(cost, 9);
    }
  });

  it('keeps a well-formed incoming request id and replaces a malformed one', async () => {
    const ids = sink.ofKind('http_request').filter((e) => e.route === '/agents').map((e) => e.context.requestId);
    expect(ids[0]).toBe('client-id-42');
    expect(ids[1]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('exports process metrics from prom-client', async () => {
    const s = await scrape();
    expect(sampleValue(s, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(s.some((x) => x.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });
});
