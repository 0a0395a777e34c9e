import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Progress of the hourly aggregator (`analytics_aggregation_state`): the last closed hour whose
 * rollups were built, so a restart catches up every hour it missed.
 */
@Entity({ name: 'analytics_aggregation_state' })
export class AnalyticsAggregationState {
  /** Name of the rollup job (one row per job). */
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'PK_analytics_aggregation_state' })
  name!: string;

  /** Start of the last hour whose rollups are complete (NULL before the first run). */
  @Column({ name: 'last_closed_hour', type: 'timestamptz', nullable: true })
  lastClosedHour!: Date | null;

  @Column({ name: 'updated_at', type: 'timestamptz', nullable: true })
  updatedAt!: Date | null;
}
