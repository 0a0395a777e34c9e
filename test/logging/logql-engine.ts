import { parser } from '@grafana/lezer-logql';
import type { SyntaxNode } from '@lezer/common';

/**
 * A LogQL evaluator for log queries, enough for the contract tests: it parses with Grafana's own
 * LogQL grammar (`@grafana/lezer-logql`) and implements, following Loki's documented semantics:
 * - stream selectors with `=`, `!=`, `=~`, `!~` (regexes fully anchored);
 * - line filters `|=`, `!=`, `|~`, `!~`;
 * - the `json` parser without parameters (nested keys joined with `_`, arrays skipped, a key that
 *   collides with a stream label gets the suffix `_extracted`, unparsable lines get
 *   `__error__="JSONParserErr"`);
 * - label filters: string matchers, numeric comparisons (`>`, `>=`, `<`, `<=`, `==`, `!=`),
 *   combined with `and` / `or` / `,`. A missing label compares as "" for string matchers and
 *   drops the line for numeric ones; a value that is not a number keeps the line and adds
 *   `__error__="LabelFilterErr"`, as Loki does.
 * Anything else (metric queries, other parsers, formatting stages) is rejected with an error
 * rather than evaluated wrongly.
 */

export class LogqlError extends Error {}

type Labels = Record<string, string>;
type Matcher = { name: string; op: '=' | '!=' | '=~' | '!~'; value: string };
type LabelPredicate = (labels: Labels) => boolean | 'error';
type Stage =
  | { kind: 'line'; op: '|=' | '!=' | '|~' | '!~'; value: string; regex?: RegExp }
  | { kind: 'json' }
  | { kind: 'label'; test: LabelPredicate };

/** A parsed log query. */
export interface LogQuery {
  selector: Matcher[];
  stages: Stage[];
}

/** One entry flowing through the pipeline. */
export interface PipelineEntry {
  line: string;
  /** Stream labels plus structured metadata. */
  labels: Labels;
}

/** Parses a log query; throws LogqlError for syntax errors and unsupported constructs. */
export function parseLogQuery(query: string): LogQuery {
  const tree = parser.parse(query);
  const errors: number[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
    },
  });
  if (errors.length > 0) {
    throw new LogqlError(
      `parse error at col ${errors[0]! + 1}: syntax error in ${JSON.stringify(query)}`,
    );
  }
  const expr = tree.topNode.getChild('Expr');
  const logExpr = expr?.getChild('LogExpr');
  if (!logExpr) throw new LogqlError('only log queries are supported by this receiver');
  const text = (node: SyntaxNode) => query.slice(node.from, node.to);

  // Matchers sit under a Matchers node of the Selector; collect() does not descend into it.
  const matchers = logExpr.getChild('Selector')!.getChild('Matchers');
  const selector = matchers ? collect(matchers, 'Matcher').map((m) => matcherOf(m, text)) : [];
  const stages: Stage[] = [];
  const pipeline = logExpr.getChild('PipelineExpr');
  if (pipeline)
    for (const stage of collect(pipeline, 'PipelineStage')) stages.push(...stageOf(stage, text));
  return { selector, stages };
}

/** True when the stream labels match the selector. */
export function matchesSelector(selector: Matcher[], labels: Labels): boolean {
  return selector.every((m) => matchString(m, labels[m.name] ?? ''));
}

/** Runs the pipeline; returns the entry with its final labels, or undefined when filtered out. */
export function runPipeline(
  query: LogQuery,
  entry: PipelineEntry,
  streamLabels: Labels,
): PipelineEntry | undefined {
  const labels: Labels = { ...entry.labels };
  for (const stage of query.stages) {
    if (stage.kind === 'line') {
      const hit = stage.regex ? stage.regex.test(entry.line) : entry.line.includes(stage.value);
      if ((stage.op === '|=' || stage.op === '|~') !== hit) return undefined;
    } else if (stage.kind === 'json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(entry.line);
      } catch {
        labels.__error__ = 'JSONParserErr';
        continue;
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        labels.__error__ = 'JSONParserErr';
        continue;
      }
      flatten(parsed as Record<string, unknown>, '', labels, streamLabels);
    } else {
      const result = stage.test(labels);
      if (result === 'error') {
        labels.__error__ ??= 'LabelFilterErr';
      } else if (!result) {
        return undefined;
      }
    }
  }
  return { line: entry.line, labels };
}

function collect(node: SyntaxNode, name: string): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  const visit = (n: SyntaxNode) => {
    for (let c = n.firstChild; c; c = c.nextSibling) {
      if (c.name === name) out.push(c);
      else if (c.name === node.name) visit(c); // left-recursive lists (Matchers, PipelineExpr)
    }
  };
  visit(node);
  return out;
}

function unquote(literal: string): string {
  if (literal.startsWith('`')) return literal.slice(1, -1);
  try {
    // Go's quoted strings and JSON strings agree on every escape a client sends.
    return JSON.parse(literal) as string;
  } catch {
    throw new LogqlError(`unsupported string literal ${literal}`);
  }
}

function matcherOf(node: SyntaxNode, text: (n: SyntaxNode) => string): Matcher {
  const name = text(node.getChild('Identifier')!);
  const opNode =
    node.getChild('Eq') ?? node.getChild('Neq') ?? node.getChild('Re') ?? node.getChild('Nre');
  const value = unquote(text(node.getChild('String')!));
  const op = text(opNode!) as Matcher['op'];
  if (op === '=~' || op === '!~') anchored(value); // validates the regex
  return { name, op, value };
}

function anchored(pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`, 's');
  } catch (error) {
    throw new LogqlError(`invalid regex ${JSON.stringify(pattern)}: ${(error as Error).message}`);
  }
}

function matchString(m: Matcher, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return anchored(m.value).test(value);
    case '!~':
      return !anchored(m.value).test(value);
  }
}

function stageOf(stage: SyntaxNode, text: (n: SyntaxNode) => string): Stage[] {
  const lineFilters = stage.getChild('LineFilters');
  if (lineFilters) {
    return collect(lineFilters, 'LineFilter').map((f) => {
      if (f.getChild('OrFilter'))
        throw new LogqlError('"or" line filters are not supported by this receiver');
      const filter = f.getChild('Filter');
      const value = unquote(text(f.getChild('String')!));
      const op = text(filter!) as '|=' | '!=' | '|~' | '!~';
      if (op !== '|=' && op !== '!=' && op !== '|~' && op !== '!~')
        throw new LogqlError(`unsupported line filter ${String(op)}`);
      let regex: RegExp | undefined;
      if (op === '|~' || op === '!~') {
        try {
          regex = new RegExp(value, 's');
        } catch (error) {
          throw new LogqlError(
            `invalid regex ${JSON.stringify(value)}: ${(error as Error).message}`,
          );
        }
      }
      return regex
        ? { kind: 'line' as const, op, value, regex }
        : { kind: 'line' as const, op, value };
    });
  }
  const parserNode = stage.getChild('LabelParser');
  if (parserNode) {
    if (!parserNode.getChild('Json') || parserNode.firstChild?.nextSibling) {
      throw new LogqlError(
        `parser "${text(parserNode)}" is not supported by this receiver (only | json)`,
      );
    }
    return [{ kind: 'json' }];
  }
  const labelFilter = stage.getChild('LabelFilter');
  if (labelFilter) return [{ kind: 'label', test: predicateOf(labelFilter, text) }];
  throw new LogqlError(`pipeline stage "${text(stage)}" is not supported by this receiver`);
}

function predicateOf(node: SyntaxNode, text: (n: SyntaxNode) => string): LabelPredicate {
  const nested = node.getChildren('LabelFilter');
  if (nested.length === 2) {
    const [left, right] = nested.map((n) => predicateOf(n, text)) as [
      LabelPredicate,
      LabelPredicate,
    ];
    const isOr = node.getChild('Or') !== null;
    return (labels) => {
      const a = left(labels);
      const b = right(labels);
      if (a === 'error' || b === 'error') return 'error';
      return isOr ? a || b : a && b;
    };
  }
  if (nested.length === 1 && node.firstChild?.name === 'LabelFilter')
    return predicateOf(nested[0]!, text);
  const matcher = node.getChild('Matcher');
  if (matcher) {
    const m = matcherOf(matcher, text);
    return (labels) => matchString(m, labels[m.name] ?? '');
  }
  const numeric = node.getChild('NumberFilter');
  if (numeric) {
    const name = text(numeric.getChild('Identifier')!);
    const opNode = numeric.getChild('Identifier')!.nextSibling!;
    const op = text(opNode);
    const literal = numeric.getChild('LiteralExpr');
    const bound = Number(text(literal!));
    if (!Number.isFinite(bound)) throw new LogqlError(`unsupported number ${text(literal!)}`);
    return (labels) => {
      if (labels.__error__ !== undefined) return true;
      const raw = labels[name];
      if (raw === undefined) return false;
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) return 'error';
      switch (op) {
        case '>':
          return v > bound;
        case '>=':
          return v >= bound;
        case '<':
          return v < bound;
        case '<=':
          return v <= bound;
        case '==':
        case '=':
          return v === bound;
        case '!=':
          return v !== bound;
        default:
          throw new LogqlError(`unsupported comparison ${op}`);
      }
    };
  }
  throw new LogqlError(`label filter "${text(node)}" is not supported by this receiver`);
}

/** Loki's json parser: nested objects flattened with `_`, arrays skipped, invalid name characters replaced. */
function flatten(
  obj: Record<string, unknown>,
  prefix: string,
  out: Labels,
  streamLabels: Labels,
): void {
  for (const [key, value] of Object.entries(obj)) {
    const name = `${prefix}${key.replace(/[^a-zA-Z0-9_]/g, '_')}`;
    if (value !== null && typeof value === 'object') {
      if (!Array.isArray(value))
        flatten(value as Record<string, unknown>, `${name}_`, out, streamLabels);
      continue;
    }
    const label = name in streamLabels ? `${name}_extracted` : name;
    // Objects were flattened above: what is left is a scalar.
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    out[label] = value === null ? '' : String(value);
  }
}
