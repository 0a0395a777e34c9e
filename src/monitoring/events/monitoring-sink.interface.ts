import type { MonitoringEvent, OperationStart } from './monitoring-event';

/**
 * A destination for monitoring events. Sinks know nothing about decorators or HTTP: they receive
 * finished events from the fan-out and must return quickly (queue or buffer anything slow).
 * A sink that throws is isolated by the fan-out: the error is counted and logged once.
 */
export interface MonitoringSink {
  /** Short stable name, used in the `sink` label of the sink error counter. */
  readonly name: string;
  /** Called once per finished operation, synchronously, on the caller's stack. */
  record(event: MonitoringEvent): void;
  /**
   * Called when a long-running operation starts (for in-progress gauges). HTTP requests are not
   * announced: read `EventFanOut.httpInFlight` when collecting instead.
   */
  started?(operation: OperationStart): void;
  /** Called when an operation reported through `started` ends, before `record`. */
  ended?(operation: OperationStart): void;
}
