import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's gauges that carry a `_total` suffix, which Prometheus reserves for counters
 * (`promtool check metrics` rejects them).
 */
const MISNAMED_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * Registers prom-client's process metrics (CPU, memory, event loop lag, GC, heap) on `registry`,
 * minus the misnamed `_total` gauges (`nodejs_active_resources{type}` and the `_handles` / `_requests`
 * gauges without the suffix carry the same information).
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_GAUGES) registry.removeSingleMetric(name);
}
