import { FakeAnthropicProvider } from '../llm/fake-anthropic.provider';
import { FakeOpenAiProvider } from '../llm/fake-openai.provider';
import type { BaseLlmProvider } from '../llm/base-llm.provider';
import type { SimulationSettings } from '../llm/simulated-latency';
import { ToolRunner } from '../tools/tool-runner';
import type { AgentConfig, BaseAgent } from './base.agent';
import { LlmAgent, RagAgent, RouterAgent, ToolAgent } from './demo-agents';

/** The demo's agent catalogue. */
export const AGENT_CATALOGUE: readonly AgentConfig[] = [
  { id: 'kpi-calculator', type: 'llm', model: 'gpt-4o-mini' },
  { id: 'report-writer', type: 'llm', model: 'claude-3-5-sonnet-20241022' },
  { id: 'research-assistant', type: 'rag', model: 'gpt-4o' },
  { id: 'support-triage', type: 'router', model: 'claude-3-haiku-20240307' },
  { id: 'data-fetcher', type: 'tool', model: 'gpt-4o-mini' },
];

/** Unknown agent id. */
export class UnknownAgentError extends Error {
  override name = 'UnknownAgentError';
}

/**
 * Builds agents with `new`, outside Nest's DI, as many agent frameworks do: the decorators on
 * the base classes track them all the same.
 */
export class AgentFactory {
  private readonly openai: BaseLlmProvider;
  private readonly anthropic: BaseLlmProvider;
  readonly tools: ToolRunner;

  constructor(sim: SimulationSettings) {
    this.openai = new FakeOpenAiProvider(sim);
    this.anthropic = new FakeAnthropicProvider(sim);
    this.tools = new ToolRunner(sim);
  }

  create(agentId: string): BaseAgent {
    const config = AGENT_CATALOGUE.find((a) => a.id === agentId);
    if (!config) throw new UnknownAgentError(`no agent "${agentId}"`);
    const llm = config.model.startsWith('claude') ? this.anthropic : this.openai;
    const deps = { llm, tools: this.tools };
    switch (config.type) {
      case 'llm':
        return new LlmAgent(config, deps);
      case 'rag':
        return new RagAgent(config, deps);
      case 'tool':
        return new ToolAgent(config, deps);
      case 'router':
        return new RouterAgent(config, deps);
    }
  }
}
