import { parser } from '@grafana/lezer-logql';
import type { SyntaxNode } from '@lezer/common';
import { LogqlError } from '../../logging/logql-engine';
import type { LokiReceiver } from '../../logging/loki-receiver';

/**
 * Runs the Log Explorer's LogQL against the Loki receiver of the logging tests, which evaluates
 * log queries (stream selector, line filters, `| json`, label filters) with Loki's documented
 * semantics. The dashboard's metric queries have the form
 * `sum [by (labels)] (count_over_time(<log query> [range]))`: their log query is run on the
 * receiver and the lines are counted per group here, as Loki's instant query at `end` would.
 * Any other metric query is rejected rather than evaluated wrongly.
 *
 * Stream selectors are matched here as well: the receiver's engine does not apply them (its
 * `collect` does not descend into the grammar's `Matchers` node, so every stream matches).
 */

/** One sample of an instant metric query. */
export interface LogqlSample {
  labels: Record<string, string>;
  value: number;
}

export type LogqlResult =
  { kind: 'streams'; lines: string[] } | { kind: 'vector'; samples: LogqlSample[] };

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const NS_PER: Record<string, bigint> = {
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
};

function durationNs(text: string): bigint {
  const m = DURATION.exec(text);
  if (!m) throw new LogqlError(`unsupported duration ${text}`);
  return BigInt(m[1]!) * NS_PER[m[2]!]!;
}

interface CountQuery {
  /** Grouping labels of `sum by (...)`; empty for a plain `sum(...)`. */
  by: string[];
  logQuery: string;
  rangeNs: bigint;
}

/** Splits `sum [by (...)] (count_over_time(<log query> [range]))` into its parts. */
function parseCountQuery(query: string): CountQuery {
  const tree = parser.parse(query);
  const text = (n: SyntaxNode) => query.slice(n.from, n.to);
  const metric = tree.topNode.getChild('Expr')?.getChild('MetricExpr');
  const aggregation = metric?.getChild('VectorAggregationExpr');
  const op = aggregation?.getChild('VectorOp');
  if (!aggregation || !op || text(op) !== 'sum')
    throw new LogqlError(`only sum(count_over_time(...)) is evaluated here: ${query}`);
  const grouping = aggregation.getChild('Grouping');
  if (grouping && !grouping.getChild('By'))
    throw new LogqlError(`only "by" grouping is evaluated here: ${query}`);
  const by = grouping
    ? (grouping.getChild('Labels')?.getChildren('Identifier') ?? []).map(text)
    : [];
  const range = aggregation.getChild('MetricExpr')?.getChild('RangeAggregationExpr');
  const rangeOp = range?.getChild('RangeOp');
  if (!range || !rangeOp || text(rangeOp) !== 'count_over_time')
    throw new LogqlError(`only count_over_time is evaluated here: ${query}`);
  const logRange = range.getChild('LogRangeExpr');
  const selector = logRange?.getChild('Selector');
  const duration = logRange?.getChild('Range')?.getChild('Duration');
  if (!logRange || !selector || !duration) throw new LogqlError(`no log range in ${query}`);
  const pipeline = logRange.getChild('PipelineExpr');
  return {
    by,
    logQuery: pipeline ? `${text(selector)} ${text(pipeline)}` : text(selector),
    rangeNs: durationNs(text(duration)),
  };
}

/** True when the query is a metric query (its top expression is not a log query). */
export function isMetricQuery(query: string): boolean {
  return parser.parse(query).topNode.getChild('Expr')?.getChild('MetricExpr') != null;
}

interface StreamMatcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

/** The matchers of the stream selector of a log query, parsed with Grafana's LogQL grammar. */
function selectorOf(logQuery: string): StreamMatcher[] {
  const tree = parser.parse(logQuery);
  const selector = tree.topNode.getChild('Expr')?.getChild('LogExpr')?.getChild('Selector');
  if (!selector) throw new LogqlError(`no stream selector in ${logQuery}`);
  const text = (n: SyntaxNode) => logQuery.slice(n.from, n.to);
  const out: StreamMatcher[] = [];
  const visit = (node: SyntaxNode) => {
    for (let c = node.firstChild; c; c = c.nextSibling) {
      if (c.name !== 'Matcher') {
        visit(c);
        continue;
      }
      const op = c.getChild('Eq') ?? c.getChild('Neq') ?? c.getChild('Re') ?? c.getChild('Nre');
      out.push({
        name: text(c.getChild('Identifier')!),
        op: text(op!) as StreamMatcher['op'],
        value: JSON.parse(text(c.getChild('String')!)) as string,
      });
    }
  };
  visit(selector);
  return out;
}

function matches(m: StreamMatcher, value: string): boolean {
  const re = () => new RegExp(`^(?:${m.value})$`, 's');
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return re().test(value);
    case '!~':
      return !re().test(value);
  }
}

/** The log query inside a metric query, or the query itself. */
function logQueryOf(query: string): string {
  return isMetricQuery(query) ? parseCountQuery(query).logQuery : query;
}

/** Label names the stream selector of a log or metric query matches on. */
export function streamLabelsOf(query: string): string[] {
  return selectorOf(logQueryOf(query)).map((m) => m.name);
}

/**
 * Runs a log query on the receiver and keeps the streams its selector matches (by the stream
 * labels the receiver stored; a label a stream does not have is "", as in Loki).
 */
function selectStreams(receiver: LokiReceiver, logQuery: string, start: bigint, end: bigint) {
  const matchers = selectorOf(logQuery);
  const streamLabelNames = new Set(receiver.labelSets.flatMap((l) => Object.keys(l)));
  return receiver
    .query(logQuery, { start, end, limit: 100_000 })
    .filter((s) =>
      matchers.every((m) =>
        matches(m, streamLabelNames.has(m.name) ? (s.stream[m.name] ?? '') : ''),
      ),
    );
}

/**
 * Evaluates a Log Explorer query on the receiver: a log query over [start, end), or a metric
 * query as an instant query at `end`.
 */
export function runLogql(
  receiver: LokiReceiver,
  query: string,
  range: { start: bigint; end: bigint },
): LogqlResult {
  if (!isMetricQuery(query)) {
    const streams = selectStreams(receiver, query, range.start, range.end);
    return { kind: 'streams', lines: streams.flatMap((s) => s.values.map((v) => v[1])) };
  }
  const count = parseCountQuery(query);
  const streams = selectStreams(receiver, count.logQuery, range.end - count.rangeNs, range.end);
  const groups = new Map<string, LogqlSample>();
  for (const s of streams) {
    // Loki drops series whose grouping label is missing from the output labels, not the lines:
    // they count in the group where that label is empty.
    const labels = Object.fromEntries(
      count.by.filter((l) => s.stream[l] !== undefined).map((l) => [l, s.stream[l]!]),
    );
    const key = JSON.stringify(labels);
    const sample = groups.get(key) ?? { labels, value: 0 };
    sample.value += s.values.length;
    groups.set(key, sample);
  }
  return { kind: 'vector', samples: [...groups.values()] };
}
