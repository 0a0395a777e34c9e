import { TrackTool } from '../../monitoring';
import { between, sleep, type SimulationSettings } from '../llm/simulated-latency';

/** A tool an agent can call. */
export type Tool = (input: Record<string, unknown>) => Promise<unknown>;

/** Raised when a tool fails. */
export class ToolError extends Error {
  override name = 'ToolError';
}

/**
 * The demo's tool choke point: agents call every tool through `invoke()`, so its one
 * `@TrackTool()` captures every tool call.
 */
export class ToolRunner {
  private readonly tools = new Map<string, Tool>();

  constructor(private readonly sim: SimulationSettings) {
    this.register('web_search', async () => {
      await sleep(between(50, 400) * this.sim.latencyScale);
      return { results: ['https://example.com/a', 'https://example.com/b'] };
    });
    this.register('sql_query', async () => {
      await sleep(between(10, 120) * this.sim.latencyScale);
      if (Math.random() < this.sim.failureRate) throw new ToolError('relation "kpis" does not exist');
      return { rows: [{ kpi: 'revenue', value: 1200 }] };
    });
    this.register('calculator', async (input) => ({ value: Number(input.a ?? 0) + Number(input.b ?? 0) }));
  }

  register(name: string, tool: Tool): void {
    this.tools.set(name, tool);
  }

  @TrackTool()
  async invoke(name: string, input: Record<string, unknown>): Promise<unknown> {
    const tool = this.tools.get(name);
    if (!tool) throw new ToolError(`unknown tool "${name}"`);
    return tool(input);
  }
}
