import { describeWithPostgres } from '../support/analytics-databases';
import { defineAnalyticsApiSuite } from './support/analytics-api.suite';

// A real PostgreSQL: a fresh database on TEST_DATABASE_URL, or a PostgreSQL 15 server started for
// this file. Without one the block is skipped with the reason printed, except under CI=true where
// it fails.
describeWithPostgres('analytics API [PostgreSQL]', () => defineAnalyticsApiSuite('postgresql'));
