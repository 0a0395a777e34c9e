import type { ContextSnapshot } from '../events/monitoring-event';
import { currentScope, snapshot } from './monitoring-scope';

/** Ids a caller may attach to the current scope; they flow into every event recorded inside it. */
export type PrincipalIds = Pick<ContextSnapshot, 'userId' | 'tenantId' | 'sessionId'>;

/**
 * Read and enrich the monitoring context from business code or guards, e.g. after authentication:
 * `MonitoringContext.setPrincipal({ userId, tenantId })`. Getters return undefined outside a scope.
 */
export const MonitoringContext = {
  /** The current correlation ids (empty outside any monitored scope). */
  current(): ContextSnapshot {
    return snapshot(currentScope());
  },

  /** The current request id, if inside an HTTP request. */
  requestId(): string | undefined {
    return currentScope()?.requestId;
  },

  /**
   * Sets user / tenant / session ids on the current scope and every scope opened inside it later.
   * Throws outside a scope, because the ids would silently go nowhere.
   */
  setPrincipal(ids: PrincipalIds): void {
    const scope = currentScope();
    if (!scope) {
      throw new Error(
        'MonitoringContext.setPrincipal() was called outside a monitored scope: call it while handling an HTTP request or inside a tracked workflow/agent/tool',
      );
    }
    if (ids.userId !== undefined) scope.userId = ids.userId;
    if (ids.tenantId !== undefined) scope.tenantId = ids.tenantId;
    if (ids.sessionId !== undefined) scope.sessionId = ids.sessionId;
  },
} as const;
