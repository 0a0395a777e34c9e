import { performance } from 'node:perf_hooks';
import { currentScope, snapshot } from '../context/monitoring-scope';
import type { LlmCallEvent, TokenUsage } from '../events/monitoring-event';
import { readModel, readPrompt, readText, readUsage, StreamUsageAccumulator } from '../llm-usage/llm-response-reader';
import { className, describeError, extract, pick, type Extractor } from './identity';
import { uuidV7 } from '../tracing/uuid-v7';
import { validateCost, validateUsage, type UsageIssue, type ValidatedUsage } from '../llm-usage/usage-validation';
import { rollUpLlmCall } from './scope-roll-up';
import { trackingDecorator } from './wrap-method';

/** Options of `@TrackLLM()`. */
export interface TrackLlmOptions {
  /** Provider name (`openai`, `anthropic`…). Default: the instance's `provider` / `providerName`, else its class name. */
  provider?: Extractor<string>;
  /**
   * Model name. Default: the first argument's `model` (the request), else the instance's `model`,
   * else the model the response reports.
   */
  model?: Extractor<string>;
  /**
   * Reads usage from this method's result, for response shapes the built-in readers do not know.
   * What it returns is validated like any usage (see `MAX_TOKENS_PER_CALL`); when it returns null,
   * a non-object or throws, the built-in readers are tried.
   */
  usage?: (result: unknown) => TokenUsage | null;
  /** Extra attributes stored with the call. */
  attributes?: Extractor<Record<string, unknown>>;
}

/**
 * Tracks every LLM call: latency, token usage (read from OpenAI and Anthropic response shapes,
 * streamed or not), and cost. Put it once on the provider base class (e.g.
 * `BaseLlmProvider.complete()`); every subclass call is captured.
 */
export function TrackLLM(options: TrackLlmOptions = {}): MethodDecorator {
  return trackingDecorator('TrackLLM', (runtime, instance, args) => {
    const provider = extract(options.provider, instance, args, () =>
      pick(instance, 'provider', 'providerName') ?? className(instance),
    );
    const requested = extract<string | undefined>(options.model, instance, args, () =>
      pick(args[0], 'model') ?? pick(instance, 'model'),
    );
    const attributes = options.attributes ? extract(options.attributes, instance, args, () => ({})) : undefined;
    const scope = currentScope();
    const spanId = uuidV7();
    const startedAt = new Date();
    const t0 = performance.now();
    let stream: StreamUsageAccumulator | undefined;
    let firstChunkMs: number | undefined;
    const readUsageOf = options.usage ?? runtime.options.usageExtractor;
    // Prompt and completion text are read only when the application opted in to logging them.
    const captureText = runtime.options.logPrompts;
    const prompt = captureText ? readPrompt(args[0]) : undefined;
    return {
      onItem(item) {
        if (firstChunkMs === undefined) firstChunkMs = performance.now() - t0;
        (stream ??= new StreamUsageAccumulator(captureText)).add(item);
      },
      finish({ result, error, failed, streamed }) {
        const durationMs = performance.now() - t0;
        const issues: UsageIssue[] = [];
        let usage: TokenUsage | null = null;
        let model = requested;
        if (streamed) {
          usage = take(validateUsage(stream?.usage ?? null), issues);
          model ??= stream?.model;
        } else if (!failed) {
          if (readUsageOf) {
            let extracted: unknown;
            try {
              extracted = readUsageOf(result);
            } catch {
              issues.push('extractor_error');
            }
            usage = take(validateUsage(extracted), issues);
          }
          usage ??= take(validateUsage(readUsage(result)), issues);
          model ??= readModel(result);
        }
        model ??= 'unknown';
        const costNanoCents = validateCost(
          usage !== null && runtime.options.costTrackingEnabled
            ? runtime.costs.costNanoCents(provider, model, usage)
            : null,
          issues,
        );
        const event: LlmCallEvent = {
          kind: 'llm_call',
          spanId,
          startedAt,
          durationMs,
          context: snapshot(scope),
          success: !failed,
          provider,
          model,
          usage,
          costNanoCents,
          streamed,
        };
        if (scope) event.parentSpanId = scope.spanId;
        if (issues.length > 0) {
          event.usageIssues = issues;
          runtime.usageWarnings.invalidUsage(provider, model, issues);
        }
        if (!failed && usage === null) runtime.usageWarnings.usageMissing(provider, model, streamed);
        if (firstChunkMs !== undefined) event.timeToFirstChunkMs = firstChunkMs;
        if (failed) event.error = describeError(error);
        if (attributes) event.attributes = attributes;
        if (captureText) {
          if (prompt !== undefined) event.prompt = prompt;
          const completion = streamed ? stream?.completion : failed ? undefined : readText(result);
          if (completion) event.completion = completion;
        }
        rollUpLlmCall(scope, usage ? usage.inputTokens + usage.outputTokens : 0, costNanoCents ?? 0);
        runtime.fanOut.publish(event);
      },
    };
  });
}

/** The usage of a validation result, its corrections appended to `issues`. */
function take(checked: ValidatedUsage, issues: UsageIssue[]): TokenUsage | null {
  for (const issue of checked.issues) if (!issues.includes(issue)) issues.push(issue);
  return checked.usage;
}
