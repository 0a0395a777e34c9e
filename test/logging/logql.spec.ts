import fc from 'fast-check';
import { parser } from '@grafana/lezer-logql';
import {
  logqlString,
  recentLogsLogql,
  streamSelector,
} from '../../src/monitoring/logging/loki/logql';
import type { RecentLogsQuery } from '../../src/monitoring/logging/recent-logs.query';
import { matchesSelector, parseLogQuery, runPipeline } from './logql-engine';

const labels = { app: 'magure-ai', env: 'production' };
const range = {
  limit: 50,
  from: new Date('2025-01-15T00:00:00Z'),
  to: new Date('2025-01-16T00:00:00Z'),
};

/** Node names of the parse tree, and whether it has a syntax error. */
function shape(query: string): { names: string[]; strings: string[]; error: boolean } {
  const names: string[] = [];
  const strings: string[] = [];
  let error = false;
  parser.parse(query).iterate({
    enter(node) {
      if (node.type.isError) error = true;
      names.push(node.name);
      if (node.name === 'String')
        strings.push(JSON.parse(query.slice(node.from, node.to)) as string);
    },
  });
  return { names, strings, error };
}

describe('LogQL of the recent-logs endpoint', () => {
  it('builds the selector from the static labels, then filters cheapest first', () => {
    const query: RecentLogsQuery = {
      ...range,
      level: 'warn',
      agentId: 'kpi-calculator',
      workflowId: 'wf',
      requestId: 'r-1',
      contains: 'timeout',
    };
    expect(recentLogsLogql(labels, query)).toBe(
      '{app="magure-ai", env="production"} |= "timeout" | json | level=~"warn|error|fatal" | agent_id="kpi-calculator" | workflow_id="wf" | request_id="r-1"',
    );
    expect(recentLogsLogql(labels, { ...range, level: 'fatal' })).toBe(
      '{app="magure-ai", env="production"} | json | level="fatal"',
    );
    expect(shape(recentLogsLogql(labels, query)).error).toBe(false);
  });

  it('escapes any value so that it stays one string literal holding exactly that value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), (value) => {
        const q = recentLogsLogql(labels, {
          ...range,
          agentId: value,
          contains: value,
          requestId: value,
        });
        const { names, strings, error } = shape(q);
        expect(error).toBe(false);
        // selector (2) + contains + agent_id + request_id: no more, no fewer string literals
        expect(strings).toEqual(['magure-ai', 'production', value, value, value]);
        expect(names.filter((n) => n === 'PipelineStage')).toHaveLength(4);
      }),
      { numRuns: 500 },
    );
  });

  it('cannot be turned into another query by a crafted value', () => {
    const attempts = [
      'x"} | json | level="error',
      'x" or agent_id=~".+',
      '\\"',
      'a\\',
      '`backtick`',
      'line\nbreak\ttab\u0000nul',
      '} |~ ".*',
    ];
    for (const value of attempts) {
      const q = parseLogQuery(recentLogsLogql(labels, { ...range, agentId: value }));
      const target = JSON.stringify({ agent_id: value, msg: 'hit' });
      const other = JSON.stringify({ agent_id: 'someone-else', level: 'error', msg: 'miss' });
      expect(matchesSelector(q.selector, labels)).toBe(true);
      expect(runPipeline(q, { line: target, labels }, labels)).toBeDefined();
      expect(runPipeline(q, { line: other, labels }, labels)).toBeUndefined();
    }
  });

  it('quotes label values of the selector too', () => {
    expect(streamSelector({ app: 'a"b', env: 'c\\d' })).toBe('{app="a\\"b", env="c\\\\d"}');
    expect(logqlString('say "hi"\n')).toBe('"say \\"hi\\"\\n"');
  });
});
