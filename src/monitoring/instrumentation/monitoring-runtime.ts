import type { EventFanOut } from '../events/event-fan-out';
import type { CostCalculator } from '../cost/cost-calculator';
import type { MonitoringOptions } from '../monitoring-options.interface';
import { currentScope } from '../context/monitoring-scope';
import { UsageWarnings } from '../llm-usage/usage-warnings';

/**
 * What the choke points need at call time: the fan-out, the cost calculator and the options of
 * one initialised `MonitoringModule`. Decorators are applied when classes are defined, long before
 * any module exists, so they find the runtime here at call time instead of through DI.
 */
export class MonitoringRuntime {
  /** Rate-limited warnings about invalid or missing token usage. */
  readonly usageWarnings = new UsageWarnings();

  constructor(
    readonly fanOut: EventFanOut,
    readonly costs: CostCalculator,
    readonly options: MonitoringOptions,
    /**
     * The app's active OpenTelemetry span where a request enters, when OpenTelemetry export is on
     * and the app has its own instrumentation.
     */
    readonly activeOtelSpan?: () => { traceId: string; spanId: string } | undefined,
  ) {}
}

/**
 * Runtimes of the initialised modules, most recent last. A module registers in `onModuleInit` and
 * leaves in `onApplicationShutdown`; `forRoot()` itself touches nothing global.
 */
const active: MonitoringRuntime[] = [];

/** Makes a runtime current for calls made outside any scope. */
export function activateRuntime(runtime: MonitoringRuntime): void {
  if (!active.includes(runtime)) active.push(runtime);
}

/** Removes a runtime; calls fall back to the previous one, or pass straight through. */
export function deactivateRuntime(runtime: MonitoringRuntime): void {
  const i = active.indexOf(runtime);
  if (i >= 0) active.splice(i, 1);
}

/**
 * The runtime serving the current call: the one of the app whose request (or tracked operation)
 * is in progress, else the most recently initialised one, else undefined (decorators pass through).
 */
export function currentRuntime(): MonitoringRuntime | undefined {
  const scope = currentScope();
  if (scope?.runtime) return scope.runtime;
  return active.length === 0 ? undefined : active[active.length - 1];
}
