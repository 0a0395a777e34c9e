import { CostCalculator } from '../../src/monitoring/cost/cost-calculator';
import { EventFanOut } from '../../src/monitoring/events/event-fan-out';
import type { MonitoringEvent, OperationStart } from '../../src/monitoring/events/monitoring-event';
import type { MonitoringSink } from '../../src/monitoring/events/monitoring-sink.interface';
import {
  activateRuntime,
  deactivateRuntime,
  MonitoringRuntime,
} from '../../src/monitoring/instrumentation/monitoring-runtime';
import type { MonitoringModuleOptions } from '../../src/monitoring/monitoring-options.interface';
import { resolveMonitoringOptions } from '../../src/monitoring/monitoring-options.resolver';

/** A sink that keeps every event in memory, for assertions. */
export class CapturingSink implements MonitoringSink {
  readonly name = 'capture';
  readonly events: MonitoringEvent[] = [];
  readonly starts: OperationStart[] = [];
  readonly ends: OperationStart[] = [];

  record(event: MonitoringEvent): void {
    this.events.push(event);
  }
  started(operation: OperationStart): void {
    this.starts.push(operation);
  }
  ended(operation: OperationStart): void {
    this.ends.push(operation);
  }

  ofKind<K extends MonitoringEvent['kind']>(kind: K): Extract<MonitoringEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<MonitoringEvent, { kind: K }> => e.kind === kind);
  }
}

/** A runtime without Nest, made current for decorated calls; `stop()` removes it. */
export function startTestRuntime(options: MonitoringModuleOptions = {}, extraSinks: MonitoringSink[] = []) {
  const sink = new CapturingSink();
  const fanOut = new EventFanOut([sink, ...extraSinks]);
  const resolved = resolveMonitoringOptions({ priceCatalogueEnabled: false, ...options }, {});
  const runtime = new MonitoringRuntime(fanOut, new CostCalculator({ overrides: resolved.pricing, catalogue: resolved.priceCatalogueEnabled }), resolved);
  activateRuntime(runtime);
  return { sink, fanOut, runtime, stop: () => deactivateRuntime(runtime) };
}
