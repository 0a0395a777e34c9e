import { AsyncLocalStorage } from 'node:async_hooks';
import type { ContextSnapshot } from '../events/monitoring-event';
import type { MonitoringRuntime } from '../instrumentation/monitoring-runtime';
import { newTraceId } from '../tracing/trace-ids';
import { uuidV7 } from '../tracing/uuid-v7';

/** What a scope was opened for. */
export type ScopeKind = 'request' | 'workflow' | 'agent' | 'tool';

/**
 * One node of the context tree. A request opens the root; workflow runs, agent executions and tool
 * calls open children. Ids are copied down at creation, so reading them is a field access.
 * Counters are accumulated by nested operations as they finish.
 */
export interface MonitoringScope extends ContextSnapshot {
  kind: ScopeKind;
  /** Span id of the operation this scope was opened for (a UUIDv7). */
  spanId: string;
  /** Trace id shared by the whole tree (a new one for a root without an incoming trace). */
  traceId: string;
  parent: MonitoringScope | undefined;
  /** The runtime of the app that opened the root scope (two apps in one process stay apart). */
  runtime: MonitoringRuntime | undefined;
  llmCalls: number;
  toolCalls: number;
  tokens: number;
  costNanoCents: number;
  stepsExecuted: number;
  stepsFailed: number;
  /** Route template, once the router has matched (request scopes only). */
  route?: string;
  /** Set when the request's in-progress gauge was raised (request scopes only). */
  inProgress?: { method: string; route: string };
}

/**
 * What the module's one `AsyncLocalStorage` holds: the innermost scope, and the request store of
 * the app's logging library (nestjs-pino's, opaque here), which the logging side keeps in the same
 * frame rather than in an `AsyncLocalStorage` of its own. On Node 20 every `AsyncLocalStorage`
 * in use adds work to every promise the process creates, so one instead of two is a measurable
 * share of a request's cost; on later Node lines it saves a context copy per request.
 */
interface ContextFrame {
  readonly scope: MonitoringScope | undefined;
  readonly logStore: unknown;
}

const frames = new AsyncLocalStorage<ContextFrame>();

/** The innermost scope of the current async context, if any. */
export function currentScope(): MonitoringScope | undefined {
  return frames.getStore()?.scope;
}

/** Runs `fn` with `scope` as the innermost scope (the log store of the context is kept). */
export function runInScope<R, A extends unknown[]>(
  scope: MonitoringScope,
  fn: (...args: A) => R,
  ...args: A
): R {
  return frames.run({ scope, logStore: frames.getStore()?.logStore }, fn, ...args);
}

/** Runs `fn` with a request's root scope and its log store, in one context switch. */
export function runInRequestScope<A extends unknown[]>(
  scope: MonitoringScope,
  logStore: unknown,
  fn: (...args: A) => void,
  ...args: A
): void {
  frames.run({ scope, logStore }, fn, ...args);
}

/** The log store of the current async context (see `ContextFrame`). */
export function currentLogStore(): unknown {
  return frames.getStore()?.logStore;
}

/** Runs `fn` with `logStore` as the log store; the current scope stays the innermost one. */
export function runWithLogStore<R, A extends unknown[]>(
  logStore: unknown,
  fn: (...args: A) => R,
  ...args: A
): R {
  return frames.run({ scope: frames.getStore()?.scope, logStore }, fn, ...args);
}

/** Creates a scope inheriting ids from `parent`. */
export function createScope(
  kind: ScopeKind,
  parent: MonitoringScope | undefined,
  runtime: MonitoringRuntime | undefined,
  ids: ContextSnapshot = {},
): MonitoringScope {
  return {
    kind,
    spanId: uuidV7(),
    traceId: ids.traceId ?? parent?.traceId ?? newTraceId(),
    parent,
    runtime: runtime ?? parent?.runtime,
    requestId: ids.requestId ?? parent?.requestId,
    workflowId: ids.workflowId ?? parent?.workflowId,
    workflowRunId: ids.workflowRunId ?? parent?.workflowRunId,
    agentId: ids.agentId ?? parent?.agentId,
    agentType: ids.agentType ?? parent?.agentType,
    userId: ids.userId ?? parent?.userId,
    tenantId: ids.tenantId ?? parent?.tenantId,
    sessionId: ids.sessionId ?? parent?.sessionId,
    llmCalls: 0,
    toolCalls: 0,
    tokens: 0,
    costNanoCents: 0,
    stepsExecuted: 0,
    stepsFailed: 0,
  };
}

/** Copies the correlation ids of a scope (or returns an empty snapshot outside any scope). */
export function snapshot(scope: MonitoringScope | undefined): ContextSnapshot {
  if (!scope) return {};
  const out: ContextSnapshot = { traceId: scope.traceId };
  if (scope.requestId !== undefined) out.requestId = scope.requestId;
  if (scope.workflowId !== undefined) out.workflowId = scope.workflowId;
  if (scope.workflowRunId !== undefined) out.workflowRunId = scope.workflowRunId;
  if (scope.agentId !== undefined) out.agentId = scope.agentId;
  if (scope.agentType !== undefined) out.agentType = scope.agentType;
  if (scope.userId !== undefined) out.userId = scope.userId;
  if (scope.tenantId !== undefined) out.tenantId = scope.tenantId;
  if (scope.sessionId !== undefined) out.sessionId = scope.sessionId;
  return out;
}

/** Nearest enclosing scope of one of the given kinds. */
export function nearest(
  scope: MonitoringScope | undefined,
  kinds: readonly ScopeKind[],
): MonitoringScope | undefined {
  for (let s = scope; s; s = s.parent) if (kinds.includes(s.kind)) return s;
  return undefined;
}
