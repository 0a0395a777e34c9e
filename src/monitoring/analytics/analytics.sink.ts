import type { MonitoringEvent } from '../events/monitoring-event';
import type { MonitoringSink } from '../events/monitoring-sink.interface';
import type { AnalyticsWriteQueue } from './ingest/analytics-write-queue';
import { mapEventToRow } from './ingest/analytics-row.mapper';

/**
 * Sends LLM calls, agent executions and workflow runs to PostgreSQL. It only maps the event to a
 * row and hands it to the write-behind queue: nothing here waits for the database. Rollups are
 * not its concern (the hourly aggregator builds them from the raw rows).
 */
export class AnalyticsSink implements MonitoringSink {
  readonly name = 'analytics';

  constructor(private readonly queue: AnalyticsWriteQueue) {}

  record(event: MonitoringEvent): void {
    const mapped = mapEventToRow(event);
    if (mapped) this.queue.enqueue(mapped.table, mapped.row);
  }
}
