import { TrackAgent } from '../../monitoring';
import type { BaseLlmProvider } from '../llm/base-llm.provider';
import type { ToolRunner } from '../tools/tool-runner';

/** Static description of an agent. */
export interface AgentConfig {
  id: string;
  type: 'llm' | 'rag' | 'tool' | 'router';
  model: string;
}

/** Everything an agent may use while it runs. */
export interface AgentDeps {
  llm: BaseLlmProvider;
  tools: ToolRunner;
}

/**
 * The agent choke point: every agent extends this class and is run through `execute()`, whose
 * `@TrackAgent()` records the execution with the LLM and tool calls made inside it.
 */
export abstract class BaseAgent {
  constructor(
    readonly config: AgentConfig,
    protected readonly deps: AgentDeps,
  ) {}

  @TrackAgent()
  execute(input: string): Promise<string> {
    return this.run(input);
  }

  protected abstract run(input: string): Promise<string>;

  protected async ask(prompt: string, stream = false): Promise<string> {
    const request = { model: this.config.model, messages: [{ role: 'user' as const, content: prompt }], max_tokens: 300 };
    if (!stream) {
      await this.deps.llm.complete(request);
      return 'answer';
    }
    let chunks = 0;
    for await (const _chunk of this.deps.llm.stream(request)) chunks++;
    return `streamed ${chunks} chunks`;
  }
}
