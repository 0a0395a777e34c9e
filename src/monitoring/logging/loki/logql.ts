import { levelsFrom, type RecentLogsQuery } from '../recent-logs.query';

/**
 * A LogQL string literal. LogQL strings follow Go's quoting rules: inside double quotes a
 * backslash and a double quote must be escaped, and control characters written as escapes.
 * JSON string syntax is a subset of that, so `JSON.stringify` produces a literal Loki reads back
 * as exactly the given value: a value can never close the string and add query syntax.
 */
export function logqlString(value: string): string {
  return JSON.stringify(value);
}

/** Stream selector of this application's log stream: its static labels only. */
export function streamSelector(labels: Record<string, string>): string {
  const matchers = Object.entries(labels).map(([name, value]) => `${name}=${logqlString(value)}`);
  return `{${matchers.join(', ')}}`;
}

/**
 * The LogQL query of a recent-logs request: the stream selector, a line filter for `contains`
 * (cheapest first, before parsing), then `| json` and label filters on the extracted fields.
 */
export function recentLogsLogql(labels: Record<string, string>, query: RecentLogsQuery): string {
  let q = streamSelector(labels);
  if (query.contains !== undefined) q += ` |= ${logqlString(query.contains)}`;
  q += ' | json';
  if (query.level !== undefined) {
    const levels = levelsFrom(query.level);
    q +=
      levels.length === 1
        ? ` | level=${logqlString(levels[0]!)}`
        : ` | level=~${logqlString(levels.join('|'))}`;
  }
  if (query.agentId !== undefined) q += ` | agent_id=${logqlString(query.agentId)}`;
  if (query.workflowId !== undefined) q += ` | workflow_id=${logqlString(query.workflowId)}`;
  if (query.requestId !== undefined) q += ` | request_id=${logqlString(query.requestId)}`;
  return q;
}
