import { performance } from 'node:perf_hooks';
import { createScope, currentScope, snapshot } from '../context/monitoring-scope';
import type { ToolCallEvent } from '../events/monitoring-event';
import { className, describeError, extract, pick, type Extractor } from './identity';
import { rollUpStep, rollUpToolCall } from './scope-roll-up';
import { trackingDecorator } from './wrap-method';

/** Options of `@TrackTool()`. */
export interface TrackToolOptions {
  /**
   * Tool name. Default: the first argument when it is a string, else its `toolName` / `tool` /
   * `name`, else the instance's `toolName` / `name`, else the class name.
   */
  toolName?: Extractor<string>;
  /** Extra attributes stored with the call. */
  attributes?: Extractor<Record<string, unknown>>;
}

/**
 * Tracks every tool call. Put it once on the tool runner (e.g. `ToolRunner.invoke()`) or on a base
 * tool class; calls are attributed to the enclosing agent and workflow.
 */
export function TrackTool(options: TrackToolOptions = {}): MethodDecorator {
  return trackingDecorator('TrackTool', (runtime, instance, args) => {
    const first = args[0];
    const toolName = extract(options.toolName, instance, args, () =>
      typeof first === 'string'
        ? first
        : (pick(first, 'toolName', 'tool', 'name') ?? pick(instance, 'toolName', 'name') ?? className(instance)),
    );
    const attributes = options.attributes ? extract(options.attributes, instance, args, () => ({})) : undefined;
    const parent = currentScope();
    const scope = createScope('tool', parent, runtime);
    const startedAt = new Date();
    const t0 = performance.now();
    return {
      scope,
      finish({ result, error, failed }) {
        const event: ToolCallEvent = {
          kind: 'tool_call',
          spanId: scope.spanId,
          startedAt,
          durationMs: performance.now() - t0,
          context: snapshot(scope),
          success: !failed,
          toolName,
        };
        if (parent?.agentId !== undefined) event.agentId = parent.agentId;
        if (parent) event.parentSpanId = parent.spanId;
        const input = toolInput(args, typeof first === 'string' && options.toolName === undefined);
        const inputText = measuredText(input);
        const outputText = failed ? undefined : measuredText(result);
        if (inputText !== undefined) event.inputSize = inputText.length;
        if (outputText !== undefined) event.outputSize = outputText.length;
        if (runtime.options.logPrompts) {
          const max = runtime.options.logPromptMaxLength;
          if (inputText !== undefined) event.input = inputText.slice(0, max);
          if (outputText !== undefined) event.output = outputText.slice(0, max);
        }
        if (failed) event.error = describeError(error);
        if (attributes) event.attributes = attributes;
        rollUpToolCall(parent);
        rollUpStep(parent, failed);
        runtime.fanOut.publish(event);
      },
    };
  });
}

/** The tool's input: its arguments, less a leading tool name. */
function toolInput(args: readonly unknown[], firstIsName: boolean): unknown {
  const rest = firstIsName ? args.slice(1) : args;
  return rest.length === 1 ? rest[0] : rest.length === 0 ? undefined : rest;
}

/** Text of a tool's input or output (strings as they are, else JSON), or undefined when it has none. */
function measuredText(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? undefined;
  } catch {
    // Circular or otherwise unserialisable values have no measurable size.
    return undefined;
  }
}
