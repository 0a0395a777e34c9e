import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DASHBOARDS_DIR, filesIn, GRAFANA_PROVISIONING, readYaml } from './ops-paths';

/**
 * The subset of Grafana's dashboard JSON model (schemaVersion 39, `@grafana/schema`'s
 * `Dashboard`, `Panel`, `VariableModel`) that the ops tests read.
 */
export interface DatasourceRef {
  type?: string;
  uid?: string;
}

export interface GridPos {
  h: number;
  w: number;
  x: number;
  y: number;
}

export interface DashboardTarget {
  refId: string;
  datasource?: DatasourceRef;
  expr?: string;
  rawSql?: string;
  format?: string;
  rawQuery?: boolean;
  instant?: boolean;
  range?: boolean;
  legendFormat?: string;
}

export interface FieldConfigOverride {
  matcher: { id: string; options: unknown };
  properties: { id: string; value: unknown }[];
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: GridPos;
  datasource?: DatasourceRef;
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
  interval?: string;
  fieldConfig?: {
    defaults: { unit?: string; [key: string]: unknown };
    overrides: FieldConfigOverride[];
  };
  options?: Record<string, unknown>;
}

export interface VariableOption {
  text: string | string[];
  value: string | string[];
  selected?: boolean;
}

export interface TemplateVariable {
  name: string;
  type: 'query' | 'datasource' | 'textbox' | 'custom' | 'constant' | 'interval' | 'adhoc';
  label?: string;
  current?: VariableOption;
  datasource?: DatasourceRef;
  definition?: string;
  query?: unknown;
  includeAll?: boolean;
  multi?: boolean;
  allValue?: string;
}

export interface Dashboard {
  id: number | null;
  uid: string;
  title: string;
  description?: string;
  tags: string[];
  schemaVersion: number;
  version: number;
  editable: boolean;
  refresh: string;
  time: { from: string; to: string };
  timezone: string;
  templating: { list: TemplateVariable[] };
  annotations: { list: { builtIn?: number; datasource?: DatasourceRef; name: string }[] };
  panels: DashboardPanel[];
}

export interface LoadedDashboard {
  file: string;
  name: string;
  model: Dashboard;
}

/** Every dashboard JSON of the top-level grafana/ folder. */
export function loadDashboards(): LoadedDashboard[] {
  return filesIn(DASHBOARDS_DIR, '.json').map((file) => ({
    file,
    name: basename(file),
    model: JSON.parse(readFileSync(file, 'utf8')) as Dashboard,
  }));
}

/** Panels of a dashboard, rows' nested panels included, rows excluded. */
export function panelsOf(dashboard: Dashboard): DashboardPanel[] {
  const out: DashboardPanel[] = [];
  for (const panel of dashboard.panels) {
    if (panel.type === 'row') out.push(...(panel.panels ?? []));
    else out.push(panel);
  }
  return out;
}

/** Provisioned data sources (uid → type) from provisioning/datasources/*.yml. */
export function provisionedDatasources(): Map<string, string> {
  const byUid = new Map<string, string>();
  for (const file of filesIn(join(GRAFANA_PROVISIONING, 'datasources'), '.yml', '.yaml')) {
    const doc = readYaml<{ datasources?: { uid?: string; type?: string }[] }>(file);
    for (const ds of doc.datasources ?? []) {
      if (ds.uid && ds.type) byUid.set(ds.uid, ds.type);
    }
  }
  return byUid;
}

export type QueryLanguage = 'promql' | 'logql' | 'sql';

/** One query of one panel, with the data source it runs on. */
export interface PanelQuery {
  dashboard: Dashboard;
  panel: DashboardPanel;
  target: DashboardTarget;
  datasourceType: string;
  language: QueryLanguage;
  text: string;
  /** "<dashboard uid> #<panel id> <panel title> [<refId>]", for messages. */
  label: string;
}

const LANGUAGE_BY_TYPE: Record<string, QueryLanguage> = {
  prometheus: 'promql',
  loki: 'logql',
  'grafana-postgresql-datasource': 'sql',
  postgres: 'sql',
};

/** Resolves `${datasource}`-style uids to the data source variable's current value. */
export function resolveDatasource(
  dashboard: Dashboard,
  ref: DatasourceRef | undefined,
): DatasourceRef | undefined {
  if (!ref?.uid) return ref;
  const m = /^\$\{?(\w+)\}?$/.exec(ref.uid);
  if (!m) return ref;
  const variable = dashboard.templating.list.find((v) => v.name === m[1]);
  const value = variable?.current?.value;
  return {
    type: ref.type ?? (typeof variable?.query === 'string' ? variable.query : undefined),
    uid: typeof value === 'string' ? value : undefined,
  };
}

/** Every query of every panel of a dashboard. */
export function queriesOf(dashboard: Dashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const panel of panelsOf(dashboard)) {
    for (const target of panel.targets ?? []) {
      const ds = target.datasource ?? panel.datasource;
      const type = ds?.type ?? '';
      const language = LANGUAGE_BY_TYPE[type];
      const text = language === 'sql' ? target.rawSql : target.expr;
      if (!language || text === undefined) {
        throw new Error(
          `${dashboard.uid} #${panel.id} ${panel.title} [${target.refId}]: no query for data source type "${type}"`,
        );
      }
      out.push({
        dashboard,
        panel,
        target,
        datasourceType: type,
        language,
        text,
        label: `${dashboard.uid} #${panel.id} "${panel.title}" [${target.refId}]`,
      });
    }
  }
  return out;
}

/** The query text of a query variable (string, or the query editor's object form). */
export function variableQuery(variable: TemplateVariable): string | undefined {
  if (typeof variable.query === 'string') return variable.query;
  if (variable.query && typeof variable.query === 'object') {
    const q = (variable.query as { query?: unknown }).query;
    if (typeof q === 'string') return q;
  }
  return variable.definition;
}

/** Values chosen for template variables: one value, several, or All. */
export type VariableSelection = Record<string, string | string[] | typeof ALL>;
export const ALL = Symbol('All');

/** Values of the built-in interval variables, e.g. `{ __rate_interval: '1m' }`. */
export type BuiltIns = Partial<
  Record<
    | '__interval'
    | '__rate_interval'
    | '__range'
    | '__interval_ms'
    | '__range_s'
    | '__range_ms'
    | '__auto',
    string
  >
>;

/** Grafana's `regex` variable format (escapeRegex of @grafana/data). */
function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
}

/**
 * The Prometheus data source's escaping of multi-value / All variables
 * (prometheusSpecialRegexEscape): the value lands in a PromQL string, so the regex escape is doubled.
 */
function promRegexEscape(value: string): string {
  return value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]+?.()|]/g, '\\\\$&');
}

function formatValue(
  value: string | string[],
  format: string | undefined,
  language: QueryLanguage,
  variable: TemplateVariable,
): string {
  const values = Array.isArray(value) ? value : [value];
  switch (format) {
    case 'raw':
    case 'text':
      return values.join(',');
    case 'regex':
      return values.length === 1
        ? escapeRegex(values[0] ?? '')
        : `(${values.map(escapeRegex).join('|')})`;
    case 'sqlstring':
    case 'singlequote':
      return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',');
    case 'pipe':
      return values.join('|');
    case 'csv':
      return values.join(',');
    case undefined:
      break;
    default:
      throw new Error(`variable format "${format}" is not supported by the test interpolation`);
  }
  // Default formatting of each data source (Grafana's interpolateVariable of the data source).
  if (language === 'promql') {
    if (!variable.multi && !variable.includeAll)
      return values.map((v) => v.replace(/\\/g, '\\\\')).join(',');
    return values.length === 1
      ? promRegexEscape(values[0] ?? '')
      : `(${values.map(promRegexEscape).join('|')})`;
  }
  if (language === 'sql') {
    if (!variable.multi && !variable.includeAll) return values.join(',');
    return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',');
  }
  return values.length === 1 ? (values[0] ?? '') : `(${values.join('|')})`;
}

/** The variable's default selection as saved in the dashboard. */
export function defaultSelection(dashboard: Dashboard): VariableSelection {
  const selection: VariableSelection = {};
  for (const v of dashboard.templating.list) {
    const value = v.current?.value;
    if (value === undefined) continue;
    if (value === '$__all' || (Array.isArray(value) && value.includes('$__all')))
      selection[v.name] = ALL;
    else selection[v.name] = value;
  }
  return selection;
}

/**
 * Replaces template variables (`$var`, `${var}`, `${var:format}`, `[[var]]`) and interval
 * built-ins the way Grafana's template service does before a query leaves the browser. SQL macros
 * (`$__timeFilter(...)` and friends) are left for {@link expandSqlMacros}. An unknown variable
 * throws, so a typo in a panel cannot pass.
 */
export function interpolate(
  text: string,
  dashboard: Dashboard,
  language: QueryLanguage,
  selection: VariableSelection,
  builtIns: BuiltIns,
): string {
  return text.replace(
    /\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]|\$(\w+)/g,
    (match, n1?: string, fmt?: string, n2?: string, n3?: string) => {
      const name = (n1 ?? n2 ?? n3) as string;
      if (name.startsWith('__')) {
        if (name in builtIns) return builtIns[name as keyof BuiltIns] as string;
        if (/^__(time|unixEpoch)/.test(name) && language === 'sql') return match;
        throw new Error(`built-in variable $${name} has no value in this test`);
      }
      const variable = dashboard.templating.list.find((v) => v.name === name);
      if (!variable) throw new Error(`query uses $${name}, which the dashboard does not define`);
      const selected = selection[name];
      if (selected === undefined) throw new Error(`no value selected for $${name}`);
      if (selected === ALL) {
        if (variable.allValue !== undefined && variable.allValue !== null) return variable.allValue;
        throw new Error(`$${name} is set to All but has no allValue`);
      }
      return formatValue(selected, fmt, language, variable);
    },
  );
}

/** Time range of a query, for the SQL macros. */
export interface TimeRange {
  from: Date;
  to: Date;
}

function intervalSeconds(raw: string): number {
  const m = /^'?(\d+(?:\.\d+)?)(ms|s|m|h|d|w)'?$/.exec(raw.trim());
  if (!m) throw new Error(`cannot parse interval "${raw}"`);
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[
    m[2] as 'ms' | 's' | 'm' | 'h' | 'd' | 'w'
  ];
  return Number(m[1]) * factor;
}

/**
 * Expands the PostgreSQL data source's macros exactly as Grafana's backend does
 * (pkg/tsdb/grafana-postgresql-datasource/macros.go): `$__timeFilter(col)` →
 * `col BETWEEN '<from>' AND '<to>'`, `$__timeGroup(col, '1h')` → `floor(extract(epoch from col)/3600)*3600`,
 * `$__timeGroupAlias` adds `AS "time"`. Unknown macros throw.
 */
export function expandSqlMacros(sql: string, range: TimeRange): string {
  const from = range.from.toISOString();
  const to = range.to.toISOString();
  return sql.replace(/\$(\w+)\(([^)]*)\)/g, (_match, name: string, rawArgs: string) => {
    const args = rawArgs.split(',').map((a) => a.trim());
    const needColumn = () => {
      if (!args[0]) throw new Error(`macro $${name} needs a column`);
      return args[0];
    };
    switch (name) {
      case '__time':
        return `${needColumn()} AS "time"`;
      case '__timeEpoch':
        return `extract(epoch from ${needColumn()}) as "time"`;
      case '__timeFilter':
        return `${needColumn()} BETWEEN '${from}' AND '${to}'`;
      case '__timeFrom':
        return `'${from}'`;
      case '__timeTo':
        return `'${to}'`;
      case '__timeGroup':
      case '__timeGroupAlias': {
        const column = needColumn();
        if (!args[1]) throw new Error(`macro $${name} needs an interval`);
        const s = intervalSeconds(args[1]);
        const group = `floor(extract(epoch from ${column})/${s})*${s}`;
        return name === '__timeGroupAlias' ? `${group} AS "time"` : group;
      }
      default:
        throw new Error(`unknown SQL macro $${name}`);
    }
  });
}

/** Metric names a PromQL expression reads (recording rules included), histogram suffixes kept. */
export function metricNamesIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const names = new Set<string>();
  for (const m of withoutStrings.matchAll(
    /\b(?:magure_\w+|magure:[\w:]+|process_\w+|nodejs_\w+|up(?=\s*\{))/g,
  ))
    names.add(m[0]);
  return [...names];
}

/** The metric family of a sample name: histogram `_bucket` / `_sum` / `_count` series belong to their histogram. */
export function familyOf(name: string, histograms: ReadonlySet<string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix) && histograms.has(name.slice(0, -suffix.length)))
      return name.slice(0, -suffix.length);
  }
  return name;
}
