import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createScope, currentScope, snapshot } from '../context/monitoring-scope';
import type { WorkflowRunEvent, WorkflowStatus } from '../events/monitoring-event';
import { className, describeError, extract, pick, type Extractor } from './identity';
import { trackingDecorator } from './wrap-method';

/** Options of `@TrackWorkflow()`. */
export interface TrackWorkflowOptions {
  /**
   * Workflow id. Default: the first argument's `workflowId` / `id` / `name` (a workflow
   * definition), else the instance's `workflowId` / `id`, else the class name.
   */
  workflowId?: Extractor<string>;
  /** Id of this run. Default: the first argument's `runId`, else a new UUID. */
  runId?: Extractor<string>;
  /** Decides whether an error is a timeout. Default: its name, class or code says "timeout" / ETIMEDOUT. */
  isTimeout?: (error: unknown) => boolean;
  /**
   * Reads status and step counts from the run's result. Default: the result's `status`
   * (`completed|failed|timeout`) and `stepsExecuted` / `steps_executed`, `stepsFailed` / `steps_failed`
   * when present; otherwise nested agent executions and tool calls are counted as steps.
   */
  outcome?: (result: unknown) => { status?: WorkflowStatus; stepsExecuted?: number; stepsFailed?: number } | undefined;
  /** Extra attributes stored with the run. */
  attributes?: Extractor<Record<string, unknown>>;
}

const STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'timeout']);

/** True for errors that describe a timeout (TimeoutError, AbortSignal.timeout(), ETIMEDOUT). */
export function isTimeoutError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const e = error as { name?: unknown; code?: unknown };
  const name = `${typeof e.name === 'string' ? e.name : ''} ${error.constructor?.name ?? ''}`;
  return /timeout/i.test(name) || e.code === 'ETIMEDOUT';
}

function defaultOutcome(result: unknown) {
  if (result === null || typeof result !== 'object') return undefined;
  const r = result as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);
  return {
    status: typeof r.status === 'string' && STATUSES.has(r.status) ? (r.status as WorkflowStatus) : undefined,
    stepsExecuted: n(r.stepsExecuted) ?? n(r.steps_executed),
    stepsFailed: n(r.stepsFailed) ?? n(r.steps_failed),
  };
}

/**
 * Tracks every workflow run. Put it once on the executor (e.g. `WorkflowExecutor.run()`); agents,
 * tools and LLM calls inside are attributed to the workflow and its run id.
 */
export function TrackWorkflow(options: TrackWorkflowOptions = {}): MethodDecorator {
  const readOutcome = options.outcome ?? defaultOutcome;
  const timeout = options.isTimeout ?? isTimeoutError;
  return trackingDecorator('TrackWorkflow', (runtime, instance, args) => {
    const first = args[0];
    const workflowId = extract(options.workflowId, instance, args, () =>
      pick(first, 'workflowId', 'id', 'name') ?? pick(instance, 'workflowId', 'id') ?? className(instance),
    );
    const runId = extract(options.runId, instance, args, () => pick(first, 'runId') ?? randomUUID());
    const attributes = options.attributes ? extract(options.attributes, instance, args, () => ({})) : undefined;
    const parent = currentScope();
    const scope = createScope('workflow', parent, runtime, { workflowId, workflowRunId: runId });
    const operation = { kind: 'workflow_run' as const, workflowId };
    const startedAt = new Date();
    const t0 = performance.now();
    runtime.fanOut.start(operation);
    return {
      scope,
      finish({ result, error, failed }) {
        runtime.fanOut.end(operation);
        let status: WorkflowStatus = failed ? (timeout(error) ? 'timeout' : 'failed') : 'completed';
        let stepsExecuted = scope.stepsExecuted;
        let stepsFailed = scope.stepsFailed;
        if (!failed) {
          const outcome = readOutcome(result);
          if (outcome?.status) status = outcome.status;
          if (outcome?.stepsExecuted !== undefined) stepsExecuted = outcome.stepsExecuted;
          if (outcome?.stepsFailed !== undefined) stepsFailed = outcome.stepsFailed;
        }
        const event: WorkflowRunEvent = {
          kind: 'workflow_run',
          spanId: scope.spanId,
          startedAt,
          durationMs: performance.now() - t0,
          context: snapshot(scope),
          workflowId,
          runId,
          status,
          stepsExecuted,
          stepsFailed,
          llmCallsCount: scope.llmCalls,
          tokensUsed: scope.tokens,
          costNanoCents: scope.costNanoCents,
        };
        if (parent) event.parentSpanId = parent.spanId;
        if (failed) event.error = describeError(error);
        if (attributes) event.attributes = attributes;
        runtime.fanOut.publish(event);
      },
    };
  });
}
