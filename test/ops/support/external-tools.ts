import { existsSync } from 'node:fs';
import { mustRunServices } from '../../support/postgres-server';

/** Binaries from Debian packages the ops suites run. */
export const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
export const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const DOCKER_COMPOSE = process.env.DOCKER_COMPOSE_BIN ?? '/usr/bin/docker-compose';

/**
 * `describe` when every binary exists; outside CI a missing binary skips the suite with a warning
 * naming the Debian package, under CI=true the suite runs and fails.
 */
export function describeWithTools(
  name: string,
  binaries: Record<string, string>,
  body: () => void,
): void {
  const missing = Object.entries(binaries).filter(([, path]) => !existsSync(path));
  if (missing.length === 0 || mustRunServices()) {
    describe(name, body);
    return;
  }
  const list = missing.map(([pkg, path]) => `${path} (apt package ${pkg})`).join(', ');
  console.warn(`Skipping "${name}": missing ${list}. Under CI=true this suite fails instead.`);
  describe.skip(name, body);
}
