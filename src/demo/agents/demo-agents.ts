import { BaseAgent } from './base.agent';

/** Answers with one LLM call. */
export class LlmAgent extends BaseAgent {
  protected run(input: string) {
    return this.ask(`Compute the KPI for: ${input}`);
  }
}

/** Retrieves with tools, then answers with a streamed LLM call. */
export class RagAgent extends BaseAgent {
  protected async run(input: string) {
    await this.deps.tools.invoke('web_search', { q: input });
    await this.deps.tools.invoke('sql_query', { q: input });
    return this.ask(`Answer from the retrieved context: ${input}`, true);
  }
}

/** Uses tools only. */
export class ToolAgent extends BaseAgent {
  protected async run(input: string) {
    const r = await this.deps.tools.invoke('calculator', { a: input.length, b: 1 });
    return JSON.stringify(r);
  }
}

/** Classifies with an LLM call, then delegates to a tool. */
export class RouterAgent extends BaseAgent {
  protected async run(input: string) {
    await this.ask(`Route this request: ${input}`);
    await this.deps.tools.invoke('web_search', { q: input });
    return 'routed';
  }
}
