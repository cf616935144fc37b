import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildComparisonPage, buildReport, type BuiltReport } from '../../src/reports';
import { comparedRunsFixture, fixtureFailedRunReport, fixtureRunReport } from './fixtures';

/** Debian's chromium package; scripts/setup.sh installs it. */
const CHROMIUM_PATH = process.env.WHORL_CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags for a headless Chromium on a machine with no network but loopback:
 * without the background-networking flags Chromium keeps trying to reach
 * update and sync hosts. --no-sandbox is needed when tests run as root.
 */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Set WHORL_UPDATE_SCREENSHOTS=1 to rewrite docs/images/report*.png from this test. */
const UPDATE_SCREENSHOTS = process.env.WHORL_UPDATE_SCREENSHOTS === '1';

interface PageVisit {
  page: Page;
  url: string;
  consoleErrors: string[];
  pageErrors: string[];
  failedRequests: string[];
  /** Every request except data: URIs. */
  networkRequests: string[];
}

/** Serves one HTML page on a loopback port, so the browser loads it over HTTP as a user would. */
async function servePage(htmlText: string): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    if (request.url === '/report.html') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(htmlText);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/report.html` };
}

async function visit(browser: Browser, url: string): Promise<PageVisit> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const result: PageVisit = { page, url, consoleErrors: [], pageErrors: [], failedRequests: [], networkRequests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') result.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => result.pageErrors.push(error.message));
  page.on('requestfailed', (request) => result.failedRequests.push(`${request.url().slice(0, 80)}: ${request.failure()?.errorText}`));
  page.on('request', (request) => {
    if (!request.url().startsWith('data:')) result.networkRequests.push(request.url());
  });
  const response = await page.goto(url, { waitUntil: 'load' });
  if (url.startsWith('http:')) assert.equal(response?.status(), 200);
  return result;
}

interface ImageElement {
  id: string;
  alt: string;
  complete: boolean;
  naturalWidth: number;
  getBoundingClientRect(): { top: number; bottom: number; left: number; right: number; width: number; height: number };
}

interface BrowserWindow {
  innerWidth: number;
  innerHeight: number;
  getComputedStyle(element: ImageElement): { visibility: string; display: string };
  scrollTo(x: number, y: number): void;
}

/** Scrolls each image into view and returns the ids of images that did not decode or did not show. */
async function invisibleImages(page: Page): Promise<{ total: number; problems: string[] }> {
  const images = await page.locator('img').all();
  const problems: string[] = [];
  for (const [index, image] of images.entries()) {
    await image.scrollIntoViewIfNeeded();
    const state = await image.evaluate((element) => {
      // The project compiles without the DOM library, so the browser-side types are spelt out here.
      const browser = globalThis as unknown as BrowserWindow;
      const img = element as unknown as ImageElement;
      const box = img.getBoundingClientRect();
      const style = browser.getComputedStyle(img);
      return {
        id: img.id || `alt "${img.alt}"`,
        complete: img.complete,
        naturalWidth: img.naturalWidth,
        width: box.width,
        height: box.height,
        inViewport: box.bottom > 0 && box.top < browser.innerHeight && box.right > 0 && box.left < browser.innerWidth,
        hidden: style.visibility === 'hidden' || style.display === 'none',
      };
    });
    if (!state.complete || state.naturalWidth === 0 || state.width === 0 || state.height === 0 || !state.inViewport || state.hidden) {
      problems.push(`${index}: ${JSON.stringify(state)}`);
    }
  }
  return { total: images.length, problems };
}

describe('run report in headless Chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  let complete: BuiltReport;
  let failed: BuiltReport;
  const servers: Server[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM_PATH), `Chromium not found at ${CHROMIUM_PATH}: run scripts/setup.sh or "apt-get install -y chromium", or set WHORL_CHROMIUM_PATH`);
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
    complete = await buildReport(fixtureRunReport());
    failed = await buildReport(fixtureFailedRunReport());
  });

  after(async () => {
    await browser?.close();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  async function open(report: BuiltReport): Promise<PageVisit> {
    const { server, url } = await servePage(report.html);
    servers.push(server);
    return visit(browser, url);
  }

  it('loads with no console errors or failed requests', async () => {
    const visited = await open(complete);
    assert.deepEqual(visited.consoleErrors, []);
    assert.deepEqual(visited.pageErrors, []);
    assert.deepEqual(visited.failedRequests, []);
    assert.deepEqual(visited.networkRequests, [visited.url], 'the page requested something besides itself');
    await visited.page.close();
  });

  it('opens offline from a file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'whorl-report-')), 'report.html');
    writeFileSync(path, complete.html);
    const visited = await visit(browser, pathToFileURL(path).href);
    assert.deepEqual(visited.consoleErrors, []);
    assert.deepEqual(visited.failedRequests, []);
    assert.deepEqual(visited.networkRequests, [visited.url]);
    const { problems } = await invisibleImages(visited.page);
    assert.deepEqual(problems, []);
    await visited.page.close();
  });

  it('shows every plot and overlay image', async () => {
    const visited = await open(complete);
    const { total, problems } = await invisibleImages(visited.page);
    const overlays = fixtureRunReport().alignment?.overlays.length ?? 0;
    assert.equal(total, Object.keys(complete.images).length + overlays);
    assert.deepEqual(problems, []);
    await visited.page.close();
  });

  it('puts the summary first, then every section', async () => {
    const visited = await open(complete);
    const ids = await visited.page.locator('main > section').evaluateAll((sections) => sections.map((section) => section.id));
    assert.deepEqual(ids, ['summary', 'stages', 'versions', 'config', 'training', 'sensor', 'robustness', 'alignment', 'retrieval', 'codes', 'index', 'quarantine']);
    const summaryTop = await visited.page.locator('#summary').evaluate((element) => element.getBoundingClientRect().top);
    assert.ok(summaryTop < 900, `summary starts at ${summaryTop} px, below the first screen`);
    if (UPDATE_SCREENSHOTS) {
      mkdirSync(join('docs', 'images'), { recursive: true });
      await visited.page.screenshot({ path: join('docs', 'images', 'report.png'), clip: { x: 0, y: 0, width: 1280, height: 1500 }, fullPage: true });
    }
    await visited.page.close();
  });

  it('names the failed stage and skipped stages', async () => {
    const visited = await open(failed);
    assert.deepEqual(visited.consoleErrors, []);
    assert.deepEqual(visited.failedRequests, []);
    const summaryText = await visited.page.locator('#summary').innerText();
    assert.match(summaryText, /Stage train-sensor-deep failed\. TrainingDivergedError: validation loss became NaN at epoch 4/);
    assert.match(summaryText, /Stage build-index skipped\. an upstream stage failed: train-sensor-deep/);
    const sensorText = await visited.page.locator('#sensor').innerText();
    assert.match(sensorText, /No data: stage train-sensor-deep failed/);
    const indexText = await visited.page.locator('#index').innerText();
    assert.match(indexText, /No data: stage build-index skipped/);
    const { problems } = await invisibleImages(visited.page);
    assert.deepEqual(problems, []);
    if (UPDATE_SCREENSHOTS) {
      await visited.page.evaluate(() => (globalThis as unknown as BrowserWindow).scrollTo(0, 0));
      await visited.page.screenshot({ path: join('docs', 'images', 'report-failed.png'), clip: { x: 0, y: 0, width: 1280, height: 900 } });
    }
    await visited.page.close();
  });

  it('shows the comparison page with every plot', async () => {
    const comparison = await buildComparisonPage(comparedRunsFixture());
    const visited = await open(comparison);
    assert.deepEqual(visited.consoleErrors, []);
    assert.deepEqual(visited.failedRequests, []);
    assert.deepEqual(visited.networkRequests, [visited.url]);
    const { total, problems } = await invisibleImages(visited.page);
    assert.equal(total, Object.keys(comparison.images).length);
    assert.deepEqual(problems, []);
    await visited.page.close();
  });
});
