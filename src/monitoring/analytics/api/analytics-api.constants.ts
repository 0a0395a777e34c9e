/**
 * Injection token of the `AnalyticsSqlRunner` the analytics API reads from (a TypeORM
 * `DataSource` fits). Resolves to null when analytics storage is off; the reports then answer 503.
 */
export const ANALYTICS_SQL_RUNNER = 'MONITORING:ANALYTICS_SQL_RUNNER';
