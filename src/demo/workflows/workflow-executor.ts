import { TrackWorkflow } from '../../monitoring';
import type { AgentFactory } from '../agents/agent.factory';

/** A workflow: agents run one after another, with a time budget. */
export interface WorkflowDefinition {
  id: string;
  steps: string[];
  timeoutMs: number;
  /** Keep going after a failed step (the run then ends `failed` if any step failed). */
  continueOnError?: boolean;
}

export const WORKFLOW_CATALOGUE: readonly WorkflowDefinition[] = [
  { id: 'daily-kpi-report', steps: ['data-fetcher', 'kpi-calculator', 'report-writer'], timeoutMs: 30_000 },
  { id: 'customer-support', steps: ['support-triage', 'research-assistant'], timeoutMs: 20_000, continueOnError: true },
  { id: 'deep-research', steps: ['research-assistant', 'research-assistant', 'report-writer'], timeoutMs: 4_000 },
];

/** Raised when a run exceeds its time budget. */
export class WorkflowTimeoutError extends Error {
  override name = 'WorkflowTimeoutError';
}

/** Result of a run. */
export interface WorkflowResult {
  runId: string;
  status: 'completed' | 'failed';
  outputs: string[];
}

/**
 * The workflow choke point: every run goes through `run()`, whose `@TrackWorkflow()` records it,
 * counting the agents it ran as steps.
 */
export class WorkflowExecutor {
  constructor(private readonly agents: AgentFactory) {}

  @TrackWorkflow()
  async run(definition: WorkflowDefinition & { runId: string }, input: string): Promise<WorkflowResult> {
    const deadline = Date.now() + definition.timeoutMs;
    const outputs: string[] = [];
    let failed = false;
    for (const step of definition.steps) {
      if (Date.now() > deadline) throw new WorkflowTimeoutError(`workflow ${definition.id} exceeded ${definition.timeoutMs} ms`);
      try {
        outputs.push(await this.agents.create(step).execute(input));
      } catch (error) {
        if (!definition.continueOnError) throw error;
        failed = true;
      }
    }
    return { runId: definition.runId, status: failed ? 'failed' : 'completed', outputs };
  }
}
