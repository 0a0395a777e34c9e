import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { AGENT_CATALOGUE } from '../agents/agent.factory';
import { WORKFLOW_CATALOGUE } from '../workflows/workflow-executor';

const TENANTS = ['acme', 'globex', 'initech'];

/**
 * Sends simulated traffic to the demo's own HTTP port, so that every choke point (HTTP, workflow,
 * agent, tool, LLM) produces data. On unless SIMULATE_TRAFFIC=false.
 */
@Injectable()
export class TrafficSimulator implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TrafficSimulator.name);
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onApplicationBootstrap(): void {
    if (process.env.SIMULATE_TRAFFIC === 'false') return;
    const intervalMs = Number(process.env.SIMULATE_TRAFFIC_INTERVAL_MS ?? 500);
    this.timer = setInterval(() => void this.tick(), Number.isFinite(intervalMs) && intervalMs > 0 ? intervalMs : 500);
    this.timer.unref();
    this.logger.log(`simulated traffic on: one request every ${intervalMs} ms (SIMULATE_TRAFFIC=false turns it off)`);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private baseUrl(): string | undefined {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as { address(): AddressInfo | string | null } | undefined;
    const address = server?.address();
    if (!address || typeof address === 'string') return undefined;
    return `http://127.0.0.1:${address.port}`;
  }

  private async tick(): Promise<void> {
    const base = this.baseUrl();
    if (!base || this.inFlight >= 20) return;
    const r = Math.random();
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;
    const path =
      r < 0.55
        ? `/agents/${pick(AGENT_CATALOGUE).id}/execute`
        : r < 0.9
          ? `/workflows/${pick(WORKFLOW_CATALOGUE).id}/run`
          : r < 0.95
            ? '/agents'
            : '/agents/no-such-agent/execute';
    this.inFlight++;
    try {
      await fetch(`${base}${path}`, {
        method: path === '/agents' ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json', 'x-tenant-id': pick(TENANTS), 'x-user-id': `user-${Math.floor(Math.random() * 20)}` },
        body: path === '/agents' ? undefined : JSON.stringify({ input: 'quarterly revenue by region' }),
      });
    } catch {
      // The app may be shutting down; simulated traffic is best effort.
    } finally {
      this.inFlight--;
    }
  }
}
