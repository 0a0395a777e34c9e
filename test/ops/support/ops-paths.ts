import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

/** Repository root. */
export const ROOT = resolve(__dirname, '../../..');
export const DOCKER_DIR = join(ROOT, 'docker');
export const COMPOSE_FILE = join(DOCKER_DIR, 'docker-compose.monitoring.yml');
export const PROMETHEUS_DIR = join(DOCKER_DIR, 'monitoring/prometheus');
export const PROMETHEUS_CONFIG = join(PROMETHEUS_DIR, 'prometheus.yml');
export const RULES_DIR = join(PROMETHEUS_DIR, 'rules');
export const RULE_TESTS_DIR = join(PROMETHEUS_DIR, 'tests');
export const LOKI_CONFIG = join(DOCKER_DIR, 'monitoring/loki/loki-config.yml');
export const GRAFANA_PROVISIONING = join(DOCKER_DIR, 'monitoring/grafana/provisioning');
export const DASHBOARDS_DIR = join(ROOT, 'grafana');

/** Files of a folder ending in one of the extensions, as absolute paths, sorted. */
export function filesIn(dir: string, ...extensions: string[]): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => extensions.some((e) => f.endsWith(e)))
    .sort()
    .map((f) => join(dir, f));
}

/** Parses a YAML file (throws with the file name on a syntax error). */
export function readYaml<T = unknown>(file: string): T {
  try {
    return parse(readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
