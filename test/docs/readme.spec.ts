import { readFileSync, writeFileSync } from 'node:fs';
import { documentedOptions, optionsTable, README_PATH, TABLE_END, TABLE_START } from '../support/options-table';

/**
 * The README's options table must match the options interface. `UPDATE_README=1 npx jest
 * test/docs` rewrites the table from the interface's JSDoc.
 */
describe('README', () => {
  const readme = readFileSync(README_PATH, 'utf8');

  it('documents every option of MonitoringModuleOptions, as the interface describes it', () => {
    const start = readme.indexOf(TABLE_START);
    const end = readme.indexOf(TABLE_END);
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    const current = readme.slice(start + TABLE_START.length, end).trim();
    const expected = optionsTable();
    if (process.env.UPDATE_README === '1' && current !== expected) {
      writeFileSync(README_PATH, `${readme.slice(0, start + TABLE_START.length)}\n${expected}\n${readme.slice(end)}`);
      return;
    }
    expect(current).toBe(expected);
  });

  it('names an environment variable or a reason for every option, and a default', () => {
    const missing = documentedOptions().filter((o) => o.defaultValue === '' && !/^(pricing|usageExtractor|principalExtractor)$/.test(o.name));
    expect(missing.map((o) => o.name)).toEqual([]);
  });

  it('gives the two commands', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });
});
