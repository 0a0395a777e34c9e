import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** One documented option of `MonitoringModuleOptions`. */
export interface DocumentedOption {
  name: string;
  env: string;
  defaultValue: string;
  meaning: string;
}

/** Reads every option of `MonitoringModuleOptions` with its JSDoc (env var, default, meaning). */
export function documentedOptions(): DocumentedOption[] {
  const source = readFileSync(join(ROOT, 'src/monitoring/monitoring-options.interface.ts'), 'utf8');
  const start = source.indexOf('export interface MonitoringModuleOptions');
  const body = source.slice(start, source.indexOf('\n}\n', start));
  const options: DocumentedOption[] = [];
  for (const m of body.matchAll(/\/\*\*([\s\S]*?)\*\/\s*\n\s*([a-zA-Z]+)\??:/g)) {
    let doc = m[1]!
      .split('\n')
      .map((l) => l.trim().replace(/^\*\s?/, ''))
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim();
    let env = '';
    const envMatch = /\s?Env (`[A-Z_]+`(?:, or implied by `[A-Z_]+`)?(?: \([^)]*\))?(?: \(comma-separated\))?)\./.exec(doc);
    if (envMatch) {
      env = envMatch[1]!;
      doc = doc.replace(envMatch[0], '');
    }
    let defaultValue = '';
    const defMatch = /\s?Default:? ((?:`[^`]*`|[^.])*)\./.exec(doc);
    if (defMatch) {
      defaultValue = defMatch[1]!.trim();
      doc = doc.replace(defMatch[0], '');
    }
    options.push({ name: m[2]!, env, defaultValue, meaning: doc.trim().replace(/\|/g, '\\|') });
  }
  return options;
}

/** The README's options table, generated from the interface. */
export function optionsTable(): string {
  const rows = documentedOptions().map(
    (o) => `| \`${o.name}\` | ${o.env} | ${o.defaultValue} | ${o.meaning} |`,
  );
  return ['| Option | Env | Default | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}

export const README_PATH = join(ROOT, 'README.md');
export const TABLE_START = '<!-- options-table:start (generated from monitoring-options.interface.ts by test/docs/readme.spec.ts) -->';
export const TABLE_END = '<!-- options-table:end -->';
