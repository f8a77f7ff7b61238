/**
 * The official @sentry/browser SDK, in a page served from another origin and run in Debian's
 * Chromium (driven by playwright-core), reports an uncaught error; a custom transport header makes
 * the browser send a CORS preflight first. Skipped without Chromium unless CI is set.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErrorsHarness, project, type ErrorsHarness } from '../../../test/support/errors-harness.js';

const CHROMIUM = '/usr/bin/chromium';
const KEY = 'browserkey00001';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI) throw new Error(`${CHROMIUM} is required under CI (apt-get install -y chromium)`);
if (!available) console.warn(`skipping the browser SDK test: ${CHROMIUM} is not installed (apt-get install -y chromium)`);

describe.skipIf(!available)('@sentry/browser SDK in Chromium → Watchkeeper', () => {
  let h: ErrorsHarness;
  let page: http.Server;
  let browser: Browser;
  const seen: { method: string; origin: string; status: number }[] = [];

  beforeAll(async () => {
    h = await createErrorsHarness([project(1, 'web', [KEY])]);
    h.app.addHook('onResponse', async (req, reply) => {
      if (req.url.startsWith('/api/1/envelope/')) seen.push({ method: req.method, origin: String(req.headers.origin ?? ''), status: reply.statusCode });
    });
    const apiUrl = await h.listen();
    const bundle = await build({
      stdin: { contents: "import * as Sentry from '@sentry/browser'; window.Sentry = Sentry;", resolveDir: process.cwd() },
      bundle: true,
      format: 'iife',
      write: false,
      logLevel: 'silent',
    });
    const dsn = apiUrl.replace('http://', `http://${KEY}@`) + '/1';
    const html = `<!doctype html><html><head><script>${bundle.outputFiles[0]!.text}</script><script>
      Sentry.init({ dsn: ${JSON.stringify(dsn)}, release: 'web@2.0.0', environment: 'browser-test',
        transportOptions: { headers: { 'X-Test-Client': 'chromium' } } });
      Sentry.setTag('page', 'checkout');
      function renderCart(cart) { return cart.items.length; }
      setTimeout(() => renderCart(undefined), 10);
    </script></head><body>shop</body></html>`;
    page = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(html);
    });
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => page?.close(resolve));
    await h?.close();
  });

  it('receives an uncaught error from a page on another origin, after a CORS preflight', async () => {
    const { port } = page.address() as { port: number };
    const tab = await browser.newPage();
    // localhost and 127.0.0.1 are different origins: every report is a cross-origin request.
    await tab.goto(`http://localhost:${port}/`);
    let issues: Awaited<ReturnType<ErrorsHarness['store']['listIssues']>>['issues'] = [];
    for (let i = 0; i < 100 && issues.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      issues = (await h.store.listIssues({ projectId: 1, sort: 'last_seen', limit: 10, offset: 0 })).issues;
    }
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ type: 'TypeError', platform: 'javascript', lastRelease: 'web@2.0.0' });
    expect(issues[0]!.title).toMatch(/^TypeError: Cannot read properties of undefined \(reading 'items'\)/);
    const detail = await h.store.issueDetail(issues[0]!.id, Date.now(), 1);
    const event = detail!.latestEvent!.event;
    expect(event.exceptions[0]!.mechanism).toMatchObject({ handled: false });
    expect(event.exceptions[0]!.frames.some((f) => f.function === 'renderCart')).toBe(true);
    expect(event.tags.page).toBe('checkout');
    expect(seen.some((r) => r.method === 'OPTIONS' && r.status === 204 && r.origin === `http://localhost:${port}`)).toBe(true);
    expect(seen.some((r) => r.method === 'POST' && r.status === 200)).toBe(true);
  });
});
