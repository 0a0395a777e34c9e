import { performance } from 'node:perf_hooks';
import { createScope, currentScope, snapshot } from '../context/monitoring-scope';
import type { AgentExecutionEvent } from '../events/monitoring-event';
import { className, describeError, extract, pick, type Extractor } from './identity';
import { rollUpStep } from './scope-roll-up';
import { trackingDecorator } from './wrap-method';

/** Options of `@TrackAgent()`. */
export interface TrackAgentOptions {
  /** Agent id. Default: the instance's `agentId`, `id` or `config.id`, else its class name. */
  agentId?: Extractor<string>;
  /** Agent type (llm, rag, tool, router…). Default: the instance's `agentType`, `type` or `config.type`, else `generic`. */
  agentType?: Extractor<string>;
  /** Extra attributes stored with the execution. */
  attributes?: Extractor<Record<string, unknown>>;
}

/**
 * Tracks every execution of an agent. Put it once on the base class method (e.g.
 * `BaseAgent.execute()`); LLM and tool calls made inside are attributed to the agent and counted.
 */
export function TrackAgent(options: TrackAgentOptions = {}): MethodDecorator {
  return trackingDecorator('TrackAgent', (runtime, instance, args) => {
    const config = (instance as { config?: unknown } | null)?.config;
    const agentId = extract(options.agentId, instance, args, () =>
      pick(instance, 'agentId', 'id') ?? pick(config, 'id', 'agentId') ?? className(instance),
    );
    const agentType = extract(options.agentType, instance, args, () =>
      pick(instance, 'agentType', 'type') ?? pick(config, 'type', 'agentType') ?? 'generic',
    );
    const attributes = options.attributes ? extract(options.attributes, instance, args, () => ({})) : undefined;
    const parent = currentScope();
    const scope = createScope('agent', parent, runtime, { agentId, agentType });
    const startedAt = new Date();
    const t0 = performance.now();
    return {
      scope,
      finish({ error, failed }) {
        const event: AgentExecutionEvent = {
          kind: 'agent_execution',
          spanId: scope.spanId,
          startedAt,
          durationMs: performance.now() - t0,
          context: snapshot(scope),
          success: !failed,
          agentId,
          agentType,
          llmCallsCount: scope.llmCalls,
          toolCallsCount: scope.toolCalls,
          tokensUsed: scope.tokens,
          costNanoCents: scope.costNanoCents,
        };
        if (parent) event.parentSpanId = parent.spanId;
        if (failed) event.error = describeError(error);
        if (attributes) event.attributes = attributes;
        rollUpStep(parent, failed);
        runtime.fanOut.publish(event);
      },
    };
  });
}
