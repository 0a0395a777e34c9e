import { currentScope } from '../context/monitoring-scope';

/**
 * The correlation fields of a log line, flat and in snake_case so that LogQL's `| json` exposes
 * them as they are (`| json | agent_id="kpi-calculator"`). Absent ids stay undefined, which pino
 * leaves out of the line.
 */
export interface LogContextFields {
  trace_id: string | undefined;
  /** Span id of the innermost tracked operation the line was written in. */
  span_id: string | undefined;
  request_id: string | undefined;
  workflow_id: string | undefined;
  workflow_run_id: string | undefined;
  agent_id: string | undefined;
  user_id: string | undefined;
  tenant_id: string | undefined;
  session_id: string | undefined;
}

/**
 * pino `mixin`: adds the ids of the current request / workflow / agent scope to every line written
 * inside it, whoever writes it (the application's Nest `Logger`, `PinoLogger`, or pino directly).
 * Returns a fresh object because pino merges the line's own fields into it.
 */
export function contextMixin(): object {
  const scope = currentScope();
  if (scope === undefined) return {};
  return {
    trace_id: scope.traceId,
    span_id: scope.spanId,
    request_id: scope.requestId,
    workflow_id: scope.workflowId,
    workflow_run_id: scope.workflowRunId,
    agent_id: scope.agentId,
    user_id: scope.userId,
    tenant_id: scope.tenantId,
    session_id: scope.sessionId,
  } satisfies LogContextFields;
}
