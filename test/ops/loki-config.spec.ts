import { LOKI_CONFIG, readYaml } from './support/ops-paths';

/**
 * Loki cannot run on the build machines (no Docker engine, no Debian package), so its
 * configuration is checked against the documented meaning of its keys
 * (grafana.com/docs/loki/latest/configure/): retention is applied only by the compactor with
 * `retention_enabled: true`, and `limits_config.retention_period: 0s` means no limit.
 */
interface LokiConfig {
  auth_enabled?: boolean;
  server?: { http_listen_port?: number };
  common?: { path_prefix?: string; storage?: { filesystem?: Record<string, string> } };
  schema_config?: {
    configs?: {
      from: string;
      store: string;
      object_store: string;
      schema: string;
      index: { period: string };
    }[];
  };
  limits_config?: Record<string, unknown>;
  compactor?: Record<string, unknown>;
  table_manager?: Record<string, unknown>;
}

const config = readYaml<LokiConfig>(LOKI_CONFIG);
const limits = config.limits_config ?? {};

/** Loki's size notation (e.g. 256KB, 8MB) in bytes. */
function bytes(value: unknown): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/.exec(String(value));
  if (!m) throw new Error(`not a size: ${String(value)}`);
  const unit = m[2] ?? 'B';
  const factor = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[
    unit as 'B'
  ];
  return Number(m[1]) * factor;
}

describe('Loki configuration (docker/monitoring/loki/loki-config.yml)', () => {
  it('keeps logs forever: retention period 0s and compactor retention disabled', () => {
    expect(limits.retention_period).toBe('0s');
    expect(config.compactor?.retention_enabled).toBe(false);
    // The deprecated table manager must not delete either.
    expect(config.table_manager?.retention_deletes_enabled ?? false).toBe(false);
  });

  it('has no per-stream retention rule that would delete some logs', () => {
    expect(limits.retention_stream ?? []).toEqual([]);
  });

  it('listens on 3100 and stores chunks under the volume mounted at /loki', () => {
    expect(config.server?.http_listen_port).toBe(3100);
    expect(config.common?.path_prefix).toBe('/loki');
    for (const dir of Object.values(config.common?.storage?.filesystem ?? {}))
      expect(dir.startsWith('/loki/')).toBe(true);
    expect(String(config.compactor?.working_directory).startsWith('/loki/')).toBe(true);
  });

  it('allows structured metadata, which needs the TSDB index with schema v13', () => {
    expect(limits.allow_structured_metadata).toBe(true);
    const schemas = config.schema_config?.configs ?? [];
    const current = schemas[schemas.length - 1];
    expect(current).toMatchObject({ store: 'tsdb', schema: 'v13', index: { period: '24h' } });
  });

  it('accepts the app push rate, bursts and JSON lines with stack traces', () => {
    expect(Number(limits.ingestion_rate_mb)).toBeGreaterThanOrEqual(8);
    expect(Number(limits.ingestion_burst_size_mb)).toBeGreaterThanOrEqual(
      Number(limits.ingestion_rate_mb),
    );
    expect(bytes(limits.max_line_size)).toBeGreaterThanOrEqual(256_000);
    // Lines are rejected, never cut: a cut JSON line no longer parses with `| json`.
    expect(limits.max_line_size_truncate).toBe(false);
    expect(bytes(limits.per_stream_rate_limit)).toBeGreaterThanOrEqual(bytes('4MB'));
  });

  it('accepts a backlog replayed after an outage and queries over long ranges', () => {
    expect(limits.reject_old_samples_max_age).toBe('168h');
    expect(limits.max_query_length).toBe('0s');
  });

  it('runs without multi-tenancy, as the app pushes without an X-Scope-OrgID header', () => {
    expect(config.auth_enabled).toBe(false);
  });
});
