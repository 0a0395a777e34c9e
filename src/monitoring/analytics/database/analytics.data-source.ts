import { createCliDataSource } from './analytics-cli.data-source.factory';

/**
 * Data source file for the TypeORM CLI (`npm run migration:run|migration:revert|migration:show`,
 * i.e. `typeorm <command> -d dist/monitoring/analytics/database/analytics.data-source.js`).
 * Reads `DATABASE_URL`; without it, the embedded database in `PGLITE_DATA_DIR` (default
 * `./.data/pglite`). Not imported by the module itself.
 */
export default createCliDataSource();
