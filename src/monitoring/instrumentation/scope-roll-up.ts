import type { MonitoringScope } from '../context/monitoring-scope';

/** Adds a finished LLM call to every enclosing agent and workflow scope. */
export function rollUpLlmCall(scope: MonitoringScope | undefined, tokens: number, costNanoCents: number): void {
  for (let s = scope; s; s = s.parent) {
    if (s.kind === 'agent' || s.kind === 'workflow') {
      s.llmCalls += 1;
      s.tokens += tokens;
      s.costNanoCents += costNanoCents;
    }
  }
}

/** Adds a finished tool call to every enclosing agent scope. */
export function rollUpToolCall(scope: MonitoringScope | undefined): void {
  for (let s = scope; s; s = s.parent) if (s.kind === 'agent') s.toolCalls += 1;
}

/**
 * Counts a finished agent execution or tool call as a step of the workflow it belongs to, when the
 * workflow is its nearest enclosing tracked operation (a tool used inside an agent is part of
 * the agent's step, not a step of its own).
 */
export function rollUpStep(parent: MonitoringScope | undefined, failed: boolean): void {
  for (let s = parent; s; s = s.parent) {
    if (s.kind === 'workflow') {
      s.stepsExecuted += 1;
      if (failed) s.stepsFailed += 1;
      return;
    }
    if (s.kind === 'agent' || s.kind === 'tool') return;
  }
}
