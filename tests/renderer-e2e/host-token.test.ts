// The browser host's access token in a real browser: the page takes it out of its address and keeps it in the tab,
// and a page on another local port (any web server on 127.0.0.1 the user visits) never receives it: no cookie, no
// Referer, nothing in document.referrer or document.cookie. The page here is the renderer's own API code
// (src/renderer/lib/api) bundled alone, against the real host (src/server/host.ts) over fake services.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStudioHost, type StudioHost } from '../../src/server/host.js';
import { REPO_ROOT } from '../helpers/shared-data.js';
import { fakeServices } from '../helpers/fake-services.js';
import { hasChromium, launchChromium, type LaunchedBrowser } from './helpers/browser.js';

const reason = hasChromium() ? null : '/usr/bin/chromium is absent (apt-get install chromium)';
if (reason) console.warn(`[renderer-e2e] host token skipped: ${reason}`);

/** The page: the renderer's getApi() and one call over the socket; the outcome in #out's data-state. */
const ENTRY = `
import { getApi } from './src/renderer/lib/api/index.ts';
const out = document.getElementById('out');
try {
  getApi().getSettings().then((result) => { out.dataset.state = result.ok ? 'connected' : 'refused ' + result.error.code; });
} catch (error) {
  out.dataset.state = 'no token';
}
`;

interface Seen {
  path: string;
  cookie: string;
  referer: string;
  body: string;
}

/** Another web server on 127.0.0.1 (another port): records what each request brings, and its page reports what it can read. */
async function otherLocalServer(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const page = `<!doctype html><title>elsewhere</title><script>
fetch('/report', { method: 'POST', body: JSON.stringify({ referrer: document.referrer, cookie: document.cookie, href: location.href }) });
</script>`;
  const server: Server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      seen.push({ path: request.url ?? '', cookie: request.headers.cookie ?? '', referer: request.headers.referer ?? '', body });
      response.writeHead(200, { 'content-type': 'text/html' }).end(request.url === '/report' ? 'ok' : page);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const state = (page: Page): Promise<string | null> => page.locator('#out').getAttribute('data-state');

describe.skipIf(reason !== null)('the browser host token in chromium', () => {
  let dir = '';
  let host: StudioHost;
  let other: Awaited<ReturnType<typeof otherLocalServer>>;
  let chromium: LaunchedBrowser;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'nst-host-token-'));
    const built = buildSync({ stdin: { contents: ENTRY, resolveDir: REPO_ROOT, loader: 'ts' }, bundle: true, write: false, format: 'esm', platform: 'browser', target: 'chrome120' });
    await writeFile(path.join(dir, 'app.js'), built.outputFiles[0]!.text);
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>Studio</title><p id="out"></p><script type="module" src="/app.js"></script>');
    host = await startStudioHost({ backend: fakeServices().backend, rendererDir: dir });
    other = await otherLocalServer();
    chromium = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    await other?.close();
    await host?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('connects with the printed URL, then keeps the token out of the address bar and out of cookies', async () => {
    const page = await chromium.context.newPage();
    await page.goto(host.url);
    await expect.poll(() => state(page)).toBe('connected');
    expect(page.url()).toBe(`http://127.0.0.1:${host.port}/`);
    expect((await chromium.context.cookies()).filter((c) => c.value.includes(host.token))).toEqual([]);

    // A reload in the same tab still connects: the tab keeps the token (sessionStorage, this origin only).
    await page.reload();
    await expect.poll(() => state(page)).toBe('connected');
    // A new tab without the printed URL has no token.
    const fresh = await chromium.context.newPage();
    await fresh.goto(`http://127.0.0.1:${host.port}/`);
    await expect.poll(() => state(fresh)).toBe('no token');
    await fresh.close();
    await page.close();
  });

  it('never lets a page on another local port obtain it: no cookie, no Referer, nothing it can read', async () => {
    const page = await chromium.context.newPage();
    await page.goto(host.url);
    await expect.poll(() => state(page)).toBe('connected');
    // The studio page navigates there itself (what a link would do), then the user visits it directly.
    await page.evaluate((target) => (location.href = target), `${other.url}/from-studio`);
    await expect.poll(() => other.seen.filter((s) => s.path === '/report').length).toBe(1);
    await page.goto(`${other.url}/direct`);
    await expect.poll(() => other.seen.filter((s) => s.path === '/report').length).toBe(2);
    await page.close();

    expect(other.seen.map((s) => s.path).filter((p) => p !== '/favicon.ico')).toEqual(['/from-studio', '/report', '/direct', '/report']);
    for (const request of other.seen) {
      expect(request.cookie, `${request.path}: cookie`).not.toContain(host.token);
      expect(request.cookie, `${request.path}: cookie`).not.toMatch(/nst_host_token/);
      expect(request.referer, `${request.path}: Referer`).not.toContain(host.token);
      expect(request.referer, `${request.path}: Referer (no-referrer)`).not.toContain(String(host.port));
      expect(request.body, `${request.path}: what the page could read`).not.toContain(host.token);
    }
    const reports = other.seen.filter((s) => s.path === '/report').map((s) => JSON.parse(s.body) as { referrer: string; cookie: string });
    expect(reports.map((r) => [r.referrer, r.cookie])).toEqual([['', ''], ['', '']]);
  });
});
