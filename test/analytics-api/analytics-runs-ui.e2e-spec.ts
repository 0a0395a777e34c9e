import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { MonitoringModule } from '../../src/monitoring';
import { AnalyticsDatabase } from '../../src/monitoring/analytics/database/analytics-database';
import { provisionDatabase, type ProvisionedDatabase } from '../support/analytics-databases';
import { waitFor } from '../support/analytics-app';
import { RunsController, TRACED_WORKFLOW_PROVIDERS } from '../support/traced-workflow-app';

/** Browser globals used inside page.evaluate() callbacks (they run in Chromium, not Node). */
declare const document: {
  documentElement: { scrollWidth: number; clientWidth: number };
  querySelector(selector: string): { getAttribute(name: string): string | null } | null;
  querySelectorAll(selector: string): ArrayLike<{ getAttribute(name: string): string | null; className: string; textContent: string | null }>;
};

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(__dirname, '..', '..', 'test-output');

describe('run view of the built-in analytics page in a real browser (Chromium)', () => {
  let db: ProvisionedDatabase;
  let app: INestApplication;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  const api = async (path: string): Promise<any> => {
    const res = await fetch(`${base}/api/analytics/${path}`);
    expect(res.status).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    db = await provisionDatabase('pglite');
    @Module({
      imports: [
        MonitoringModule.forRoot({
          defaultMetricsEnabled: false,
          embeddedDatabaseDir: db.embeddedDatabaseDir,
          analyticsFlushIntervalMs: 20,
          priceCatalogueEnabled: false,
          logDestination: { write: () => undefined },
        }),
      ],
      controllers: [RunsController],
      providers: TRACED_WORKFLOW_PROVIDERS,
    })
    class RunsUiModule {}
    app = await NestFactory.create(RunsUiModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    const source = await app.get(AnalyticsDatabase).whenReady();
    for (const [runId, mode] of [['night-1', 'ok'], ['night-2', 'fail']] as const) {
      const res = await fetch(`${base}/audit/${runId}/${mode}`, { headers: { 'x-request-id': `req-${runId}` } });
      expect(res.status).toBe(200);
    }
    await waitFor('both runs stored', async () => {
      const [row] = await source.query(`SELECT count(*)::int AS n FROM tool_calls WHERE request_id LIKE 'req-night-%'`);
      return row.n === 4 ? true : undefined;
    });
    profile = mkdtempSync(join(tmpdir(), 'analytics-runs-ui-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 1400 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await app?.close();
    await db?.cleanup();
  });

  it('opens a failed workflow run from the workflow table and draws it as a waterfall with the API\'s numbers', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/api/analytics/ui`);
    await page.waitForSelector('#runs-table');

    // From the workflow table to its runs, then to the failed run.
    await page.click('#workflows button.link:has-text("invoice-audit")');
    await page.waitForFunction(() => document.querySelectorAll('#runs-table tbody tr').length === 2);
    expect(await page.textContent('#runs-filter')).toBe('workflow invoice-audit');
    const failedRun = page.locator('#runs-table tbody tr.failed-row a');
    expect(await failedRun.count()).toBe(1);
    expect(await failedRun.textContent()).toBe('invoice-audit · night-2');
    await failedRun.click();
    await page.waitForFunction(() => {
      const loaded = document.querySelector('#run-view')?.getAttribute('data-loaded');
      return loaded !== null && loaded !== undefined && loaded !== 'error';
    });

    const list = await api('runs?workflow_id=invoice-audit&status=failed');
    const tree = await api(`runs/${list.runs[0].id}`);
    const rows = await page.$$eval('#waterfall tbody tr', (trs) =>
      trs.map((tr) => ({
        kind: tr.getAttribute('data-kind'),
        name: tr.getAttribute('data-name'),
        status: tr.getAttribute('data-status'),
        failed: tr.className.includes('failed-row'),
        tokens: tr.querySelector('td:nth-child(4)')?.getAttribute('data-value'),
        cents: tr.querySelector('td:nth-child(5)')?.getAttribute('data-value'),
      })),
    );
    const flat: { kind: string; name: string; status: string; tokens: { total: number }; cost: { cents: string } }[] = [];
    const visit = (n: any) => {
      flat.push(n);
      n.children.forEach(visit);
    };
    tree.roots.forEach(visit);
    expect(rows).toEqual(
      flat.map((n) => ({
        kind: n.kind,
        name: n.name,
        status: n.status,
        failed: n.status !== 'completed',
        tokens: String(n.tokens.total),
        cents: n.cost.cents,
      })),
    );
    expect(rows.map((r) => `${r.kind}:${r.name}`)).toEqual([
      'workflow:invoice-audit',
      'agent:extractor',
      'tool:ocr',
      'llm:openai/gpt-4o-mini',
      'agent:auditor',
      'agent:checker',
      'llm:openai/house-model-7',
      'tool:lookup',
    ]);
    expect(rows.filter((r) => r.failed).map((r) => r.name)).toEqual(['invoice-audit', 'auditor', 'lookup']);
    expect(await page.getAttribute('#run-tokens', 'data-value')).toBe(String(tree.totals.tokens.total));
    expect(await page.getAttribute('#run-cost', 'data-value')).toBe(tree.totals.cost.cents);
    expect(await page.textContent('#run-status')).toBe('failed');
    expect(await page.textContent('#waterfall')).toContain('AuditError — totals do not match the ledger');
    // Bars sit on the time axis: the first starts at 0 and spans the whole run.
    const firstBar = await page.$eval('#waterfall tbody tr:first-child .bar', (b) => b.getAttribute('aria-label'));
    expect(firstBar).toContain('starts at 0 ms');

    // The request's log lines, from the run view.
    await page.click('#run-logs');
    await page.waitForFunction(() => (document.querySelector('#logs table') as unknown) !== null);
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('#logs tbody tr')).every((tr) => (tr.textContent ?? '').includes('request_id=req-night-2')),
    );
    expect(await page.textContent('#logs-filter')).toBe('request req-night-2');
    expect(await page.locator('#logs tbody tr').count()).toBeGreaterThan(5);

    const wide = join(SCREENSHOTS, 'analytics-run-view-1280.png');
    await page.locator('#run-view').screenshot({ path: wide });
    expect(statSync(wide).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
  });

  it('is reachable by link (#run=<id>, #request=<id>) and readable on a phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/api/analytics/ui#request=req-night-1`);
    await page.waitForFunction(() => {
      const loaded = document.querySelector('#run-view')?.getAttribute('data-loaded');
      return loaded !== null && loaded !== undefined && loaded !== 'error';
    });
    expect(await page.textContent('#run-status')).toBe('completed');
    expect(await page.locator('#waterfall tbody tr').count()).toBe(8);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const phone = join(SCREENSHOTS, 'analytics-run-view-phone.png');
    await page.locator('#run-view').screenshot({ path: phone });
    expect(statSync(phone).size).toBeGreaterThan(5_000);
  });
});
