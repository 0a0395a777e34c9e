import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EmbeddedPostgres } from '../../src/monitoring/analytics/database/embedded-postgres';

/**
 * A fresh embedded-database directory for one test, copied from a template that is initialised
 * once per machine: creating a PGlite cluster takes seconds, copying one a fraction of that.
 */
export async function freshPgliteDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const template = await pgliteTemplate();
  const parent = await mkdtemp(join(tmpdir(), 'mon-pglite-'));
  const dir = join(parent, 'data');
  await cp(template, dir, { recursive: true });
  return { dir, remove: () => rm(parent, { recursive: true, force: true }) };
}

let templatePromise: Promise<string> | undefined;

function pgliteTemplate(): Promise<string> {
  templatePromise ??= (async () => {
    const manifest = join(dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json');
    const version = (JSON.parse(await readFile(manifest, 'utf8')) as { version: string }).version;
    const target = join(tmpdir(), `monitoring-pglite-template-${version}`);
    if (existsSync(join(target, 'PG_VERSION'))) return target;
    const building = await mkdtemp(join(tmpdir(), 'mon-pglite-build-'));
    // Through the module's own embedded server: PGlite runs in its worker thread, outside the
    // test runner's module sandbox.
    try {
      const embedded = new EmbeddedPostgres(building);
      await embedded.start();
      await embedded.stop();
    } catch (error) {
      await rm(building, { recursive: true, force: true });
      throw error;
    }
    try {
      await rename(building, target);
    } catch {
      // Another test process won the race: its template is as good.
      await rm(building, { recursive: true, force: true });
    }
    return target;
  })();
  return templatePromise;
}
