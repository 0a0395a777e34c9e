import { defineAnalyticsApiSuite } from './support/analytics-api.suite';

// The module's embedded database (PGlite in a worker thread, reached through `pg`).
describe('analytics API [PGlite]', () => defineAnalyticsApiSuite('pglite'));
