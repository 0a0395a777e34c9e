import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AgentFactory } from './agents/agent.factory';
import { DEFAULT_SIMULATION, type SimulationSettings } from './llm/simulated-latency';
import { WORKFLOW_CATALOGUE, WorkflowExecutor, type WorkflowResult } from './workflows/workflow-executor';

/** Injection token of the simulation settings. */
export const SIMULATION = 'DEMO:SIMULATION';

/** Reads the simulation settings from the environment. */
export function simulationFromEnv(env = process.env): SimulationSettings {
  const scale = env.DEMO_LATENCY_SCALE === undefined ? DEFAULT_SIMULATION.latencyScale : Number(env.DEMO_LATENCY_SCALE);
  const rate = env.DEMO_FAILURE_RATE === undefined ? DEFAULT_SIMULATION.failureRate : Number(env.DEMO_FAILURE_RATE);
  return {
    latencyScale: Number.isFinite(scale) && scale >= 0 ? scale : DEFAULT_SIMULATION.latencyScale,
    failureRate: Number.isFinite(rate) && rate >= 0 && rate <= 1 ? rate : DEFAULT_SIMULATION.failureRate,
  };
}

/** Unknown workflow id. */
export class UnknownWorkflowError extends Error {
  override name = 'UnknownWorkflowError';
}

/** Business logic of the demo monolith: run agents and workflows. No monitoring code here. */
@Injectable()
export class DemoService {
  private readonly agents: AgentFactory;
  private readonly executor: WorkflowExecutor;

  constructor(@Inject(SIMULATION) sim: SimulationSettings) {
    this.agents = new AgentFactory(sim);
    this.executor = new WorkflowExecutor(this.agents);
  }

  runAgent(agentId: string, input: string): Promise<string> {
    return this.agents.create(agentId).execute(input);
  }

  runWorkflow(workflowId: string, input: string): Promise<WorkflowResult> {
    const definition = WORKFLOW_CATALOGUE.find((w) => w.id === workflowId);
    if (!definition) return Promise.reject(new UnknownWorkflowError(`no workflow "${workflowId}"`));
    return this.executor.run({ ...definition, runId: randomUUID() }, input);
  }
}
