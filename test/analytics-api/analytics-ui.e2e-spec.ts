import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { describeEachAdapter } from '../support/http-adapters';
import { reaggregateAll, startModuleApp, type ModuleApp } from './support/analytics-module-app';
import { generateWorkload, insertWorkload } from './support/workload';
import { TEST_OUTPUT_DIR } from '../support/test-output';

/**
 * The browser globals used inside page.evaluate() callbacks (which run in Chromium, not Node).
 * Declared here rather than through the DOM lib, whose types would change Node's fetch typings
 * for the whole project.
 */
declare const document: {
  body: { getAttribute(name: string): string | null };
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
};
declare const sessionStorage: { getItem(key: string): string | null };

const TOKEN = 'ui-test-token-0123456789abcdef';
const HOUR = 3_600_000;
const CHROMIUM = '/usr/bin/chromium';

/** Dollars as the page shows them: cents precision from $1, four decimals below, half up, grouped. */
function displayUsd(usd: string): string {
  const [whole, frac = ''] = usd.split('.');
  const places = Number(whole) >= 1 ? 2 : 4;
  let scaled = BigInt(whole! + frac.padEnd(places + 1, '0').slice(0, places));
  if (Number(frac.padEnd(places + 1, '0')[places]) >= 5) scaled += 1n;
  const digits = scaled.toString().padStart(places + 1, '0');
  const intPart = digits.slice(0, digits.length - places).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `$${intPart}.${digits.slice(digits.length - places)}`;
}
const pct = (rate: number | null) => (rate === null ? '–' : `${(rate * 100).toFixed(1)}%`);
const int = (n: number) => n.toLocaleString('en-US');

describeEachAdapter('built-in analytics page in a real browser (Chromium)', (adapter) => {
  let m: ModuleApp;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  const api = async (path: string): Promise<any> => {
    const res = await fetch(`${base}/api/analytics/${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    return res.json();
  };
  const widget = async (id: string) => ({
    text: (await page.textContent(`#${id}`))?.trim(),
    value: await page.getAttribute(`#${id}`, 'data-value'),
  });
  /** Runs `action` and waits for the page's next full refresh. */
  const refreshed = async (action: () => Promise<unknown>) => {
    const before = await page.evaluate(() => document.body.getAttribute('data-loaded'));
    await action();
    await page.waitForFunction((prev) => {
      const now = document.body.getAttribute('data-loaded');
      return now !== null && now !== prev;
    }, before);
  };

  beforeAll(async () => {
    m = await startModuleApp('pglite', { analyticsApiToken: TOKEN }, undefined, adapter);
    const now = Date.now();
    const w = generateWorkload({ seed: 99, from: new Date(now - 30 * HOUR), to: new Date(now - 2000), llm: 1500, agents: 400, workflows: 150 });
    // Nothing near the moving starts of "last 24 hours" / "last hour": the page and the test
    // read the same rows even though their requests are a moment apart.
    const far = (t: Date) => Math.abs(t.getTime() - (now - 24 * HOUR)) > 300_000 && Math.abs(t.getTime() - (now - HOUR)) > 300_000;
    w.llm = w.llm.filter((r) => far(r.timestamp));
    w.agents = w.agents.filter((r) => far(r.timestamp));
    w.workflows = w.workflows.filter((r) => far(r.finished_at));
    await insertWorkload(m.source, w);
    await reaggregateAll(m);
    await m.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(m.app.getHttpServer().address() as AddressInfo).port}`;
    profile = mkdtempSync(join(tmpdir(), 'analytics-ui-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1360, height: 1500 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await m?.close();
  });

  it('asks for the token when the API answers 401, then shows the widget values the API gives', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/status of (401|404)/.test(msg.text())) errors.push(msg.text());
    });
    await page.goto(`${base}/api/analytics/ui`);
    await page.waitForFunction(() => document.body.getAttribute('data-loaded') !== null);
    expect(await page.isVisible('#banner')).toBe(true);
    expect(await page.textContent('#banner')).toContain('401');
    expect((await widget('w-cost')).text).toBe('–');

    await refreshed(async () => {
      await page.fill('#token', TOKEN);
      await page.click('#save-token');
    });
    expect(await page.isVisible('#banner')).toBe(false);
    expect(await page.evaluate(() => sessionStorage.getItem('analyticsApiToken'))).toBe(TOKEN);
    expect(await page.inputValue('#token')).toBe('');

    const s = await api('summary?hours=24');
    expect(s.llmCalls).toBeGreaterThan(0);
    expect(await widget('w-success')).toEqual({ text: pct(s.successRate), value: String(s.successRate) });
    expect(await widget('w-tokens')).toEqual({ text: int(s.totalTokens), value: String(s.totalTokens) });
    expect(await widget('w-cost')).toEqual({ text: displayUsd(s.cost.usd), value: s.cost.usd });
    expect(await widget('w-calls')).toEqual({ text: int(s.llmCalls), value: String(s.llmCalls) });
    expect(await widget('w-errors')).toEqual({ text: pct(s.errorRate), value: String(s.errorRate) });

    const costs = await api('costs?hours=24');
    expect(await page.locator('#cost-by-model tbody tr').count()).toBe(costs.byModel.length);
    expect(await page.locator('#cost-by-model svg rect').count()).toBe(Math.min(10, costs.byModel.length));
    const firstRow = await page.locator('#cost-by-model tbody tr').first().locator('td').allTextContents();
    expect(firstRow.slice(0, 4)).toEqual([costs.byModel[0].model, costs.byModel[0].provider, int(costs.byModel[0].calls), displayUsd(costs.byModel[0].cost.usd)]);

    const series = await api('timeseries?metric=cost&bucket=hour&hours=24');
    expect(await page.textContent('#cost-over-time')).toContain(
      `${series.points.length} hour buckets (UTC), total ${displayUsd(costs.total.usd)}`,
    );
    expect(await page.locator('#cost-over-time svg path').count()).toBe(2);

    const agents = await api('agents?hours=24&limit=15');
    const agentRows = page.locator('#agents tbody tr');
    expect(await agentRows.count()).toBe(agents.agents.length);
    expect((await agentRows.first().locator('td').allTextContents()).slice(0, 4)).toEqual([
      agents.agents[0].agentId,
      agents.agents[0].agentType,
      int(agents.agents[0].executions),
      pct(agents.agents[0].successRate),
    ]);

    const workflows = await api('workflows?hours=24&limit=15');
    const legend = await page.textContent('#workflows .legend');
    expect(legend).toContain(`completed ${int(workflows.totals.completed)}`);
    expect(legend).toContain(`failed ${int(workflows.totals.failed)}`);
    expect(legend).toContain(`timeout ${int(workflows.totals.timeout)}`);
    expect(await page.locator('#workflows tbody tr').count()).toBe(workflows.workflows.length);

    // The logs viewer answers whatever recent-logs does with a table or a clear message.
    const logs = (await page.textContent('#logs')) ?? '';
    const logsShown = (await page.locator('#logs table').count()) > 0 || /^Logs are not available: \d{3}: /.test(logs) || logs === 'No log lines.';
    expect(logsShown).toBe(true);
    expect(errors).toEqual([]);

    // Kept for a person to look at (test-output/ is git-ignored; each run replaces the file).
    const shot = join(TEST_OUTPUT_DIR, 'analytics-ui.png');
    mkdirSync(TEST_OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(20_000);
  });

  it('keeps the token for the tab across reloads and follows the range selector', async () => {
    await page.reload();
    await page.waitForFunction(() => document.body.getAttribute('data-loaded') !== null);
    expect(await page.isVisible('#banner')).toBe(false);
    await refreshed(() => page.selectOption('#range', '1'));
    const s = await api('summary?hours=1');
    expect(await widget('w-calls')).toEqual({ text: int(s.llmCalls), value: String(s.llmCalls) });
    expect(await widget('w-cost')).toEqual({ text: displayUsd(s.cost.usd), value: s.cost.usd });
    const custom = { from: new Date(Date.now() - 30 * HOUR), to: new Date(Date.now() - 20 * HOUR) };
    await page.selectOption('#range', 'custom');
    const local = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await page.fill('#from', local(custom.from));
    await page.fill('#to', local(custom.to));
    await refreshed(() => page.click('#refresh'));
    const minute = (d: Date) => new Date(Math.floor(d.getTime() / 60_000) * 60_000).toISOString();
    const c = await api(`summary?from=${minute(custom.from)}&to=${minute(custom.to)}`);
    expect(await widget('w-tokens')).toEqual({ text: int(c.totalTokens), value: String(c.totalTokens) });
  });

  it('shows a clear message when recent-logs fails, and log lines as text (never as markup)', async () => {
    await page.route('**/api/analytics/recent-logs*', (route) =>
      route.fulfill({ status: 502, contentType: 'application/json', body: JSON.stringify({ statusCode: 502, message: 'Loki is unreachable' }) }),
    );
    await refreshed(() => page.click('#refresh'));
    expect(await page.textContent('#logs')).toBe('Logs are not available: 502: Loki is unreachable');
    await page.unroute('**/api/analytics/recent-logs*');

    await page.route('**/api/analytics/recent-logs*', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          // The recent-logs response shape: every field of the JSON line is under "fields".
          logs: [
            {
              timestamp: '2025-03-02T10:25:00Z',
              level: 'error',
              message: '<img src=x onerror="document.title=1">',
              fields: { level: 'error', event: 'agent_execution_failed', agent_id: 'planner', latency_ms: 12 },
            },
          ],
        }),
      }),
    );
    await refreshed(() => page.click('#refresh'));
    const cells = await page.locator('#logs tbody tr').first().locator('td').allTextContents();
    expect(cells).toEqual(['2025-03-02T10:25:00Z', 'error', '<img src=x onerror="document.title=1">', 'agent_id=planner latency_ms=12']);
    expect(await page.locator('#logs img').count()).toBe(0);
    await page.unroute('**/api/analytics/recent-logs*');
  });
});
