import { Logger } from '@nestjs/common';
import type { InFlightHttpRequest, MonitoringEvent, OperationStart } from './monitoring-event';
import type { MonitoringSink } from './monitoring-sink.interface';

/**
 * The single point where finished events leave the choke points. It hands each event to every
 * registered sink, isolating sink failures so that monitoring never breaks the observed call.
 */
export class EventFanOut {
  private readonly logger = new Logger('Monitoring');
  private readonly warned = new Set<string>();
  /** Failures per sink name since start (exported as a metric by the metrics sink). */
  readonly sinkErrors = new Map<string, number>();
  /**
   * HTTP requests being handled, added and removed by the HTTP choke point. Read at collection
   * time (the in-progress gauge) instead of a start and an end call per request.
   */
  readonly httpInFlight = new Set<InFlightHttpRequest>();
  private sinks: readonly MonitoringSink[];

  constructor(sinks: readonly MonitoringSink[] = []) {
    this.sinks = [...sinks];
  }

  /** Adds a sink (used by sinks that are created after the fan-out). */
  addSink(sink: MonitoringSink): void {
    this.sinks = [...this.sinks, sink];
  }

  /** Names of the sinks in registration order. */
  get sinkNames(): string[] {
    return this.sinks.map((s) => s.name);
  }

  /** Hands a finished event to every sink. Never throws. */
  publish(event: MonitoringEvent): void {
    const sinks = this.sinks;
    for (let i = 0; i < sinks.length; i++) {
      const sink = sinks[i]!;
      try {
        sink.record(event);
      } catch (error) {
        this.reportFailure(sink.name, error);
      }
    }
  }

  /** Announces a started long-running operation. Never throws. */
  start(operation: OperationStart): void {
    for (const sink of this.sinks) {
      if (!sink.started) continue;
      try {
        sink.started(operation);
      } catch (error) {
        this.reportFailure(sink.name, error);
      }
    }
  }

  /** Announces the end of an operation given to `start`. Never throws. */
  end(operation: OperationStart): void {
    for (const sink of this.sinks) {
      if (!sink.ended) continue;
      try {
        sink.ended(operation);
      } catch (error) {
        this.reportFailure(sink.name, error);
      }
    }
  }

  /**
   * Counts a failure inside monitoring (a sink, an extractor) and logs it once per source, so a
   * broken sink cannot flood the logs.
   */
  reportFailure(source: string, error: unknown): void {
    this.sinkErrors.set(source, (this.sinkErrors.get(source) ?? 0) + 1);
    if (!this.warned.has(source)) {
      this.warned.add(source);
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn(`monitoring ${source} failed and was isolated: ${message}`);
    }
  }
}
