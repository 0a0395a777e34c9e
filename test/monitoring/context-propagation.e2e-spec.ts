import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AGENT_CATALOGUE } from '../../src/demo/agents/agent.factory';
import type { CapturingSink } from '../support/event-capture';
import { startDemoApp } from '../support/demo-app';
import { describeEachAdapter } from '../support/http-adapters';

describeEachAdapter('context propagation under concurrency (e2e)', (adapter) => {
  let app: INestApplication;
  let sink: CapturingSink;

  beforeAll(async () => {
    // Small random latencies make the 200 requests interleave inside the event loop.
    ({ app, sink } = await startDemoApp({ DEMO_LATENCY_SCALE: '0.004' }, adapter));
    await app.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await app.close();
  });

  it('never mixes request ids, agent ids or tenants across 200 interleaved requests', async () => {
    const server = app.getHttpServer();
    const agents = AGENT_CATALOGUE.map((a) => a.id);
    const sent = new Map<string, { agentId: string; tenant: string }>();
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const agentId = agents[i % agents.length]!;
        const requestId = `req-${i}`;
        const tenant = `tenant-${i % 7}`;
        sent.set(requestId, { agentId, tenant });
        return request(server)
          .post(`/agents/${agentId}/execute`)
          .set('X-Request-Id', requestId)
          .set('X-Tenant-Id', tenant)
          .expect(200);
      }),
    );

    const agentsRun = sink.ofKind('agent_execution');
    expect(agentsRun).toHaveLength(200);
    for (const e of agentsRun) {
      const want = sent.get(e.context.requestId!);
      expect(want).toBeDefined();
      expect([e.agentId, e.context.tenantId]).toEqual([want!.agentId, want!.tenant]);
    }
    const nested = [...sink.ofKind('llm_call'), ...sink.ofKind('tool_call')];
    expect(nested.length).toBeGreaterThan(200);
    for (const e of nested) {
      const want = sent.get(e.context.requestId!);
      expect([e.context.agentId, e.context.tenantId]).toEqual([want!.agentId, want!.tenant]);
    }
    // every LLM and tool call is counted on exactly the agent execution of its own request
    for (const e of agentsRun) {
      const mine = (k: 'llm_call' | 'tool_call') => sink.ofKind(k).filter((x) => x.context.requestId === e.context.requestId).length;
      expect([e.llmCallsCount, e.toolCallsCount]).toEqual([mine('llm_call'), mine('tool_call')]);
    }
    const http = sink.ofKind('http_request');
    expect(new Set(http.map((e) => e.context.requestId)).size).toBe(200);
  });
});
