import type { MonitoringEvent } from '../events/monitoring-event';
import type { MonitoringSink } from '../events/monitoring-sink.interface';
import type { AnalyticsWriteQueue } from './ingest/analytics-write-queue';
import type { AnalyticsTable } from './ingest/analytics-tables';

/** The raw table of each stored event kind (HTTP requests are not stored: they are counted and logged). */
const TABLE_OF: Partial<Record<MonitoringEvent['kind'], AnalyticsTable>> = {
  llm_call: 'llm_usage',
  agent_execution: 'agent_executions',
  workflow_run: 'workflow_analytics',
  tool_call: 'tool_calls',
};

/**
 * Sends LLM calls, agent executions, workflow runs and tool calls to PostgreSQL. It only hands the event to
 * the write-behind queue, which turns it into a row when it flushes: nothing here waits for the
 * database, and nothing is serialised on the caller's stack. Rollups are
 * not its concern (the hourly aggregator builds them from the raw rows).
 */
export class AnalyticsSink implements MonitoringSink {
  readonly name = 'analytics';

  constructor(private readonly queue: AnalyticsWriteQueue) {}

  record(event: MonitoringEvent): void {
    const table = TABLE_OF[event.kind];
    // The row is built by the flusher, off the caller's stack.
    if (table !== undefined) this.queue.enqueue(table, event);
  }
}
