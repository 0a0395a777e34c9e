// Each test file gets its own analytics spool directory: a spool is one process's state, and rows
// one test leaves behind must never be replayed into another test's database.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

if (!process.env.ANALYTICS_SPOOL_DIR_KEEP) {
  process.env.ANALYTICS_SPOOL_DIR = mkdtempSync(join(tmpdir(), 'mon-spool-'));
}
