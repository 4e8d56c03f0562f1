// The main process's trust decisions: who may send IPC, which permissions and navigations pass, what the app://
// protocol serves, the CSP; and that only index.ts (and the preload) load Electron, so the rest runs in Node.

import { mkdtemp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { APP_INDEX_URL, APP_ORIGIN, APP_SCHEME_PRIVILEGES, createAppRequestHandler, resolveAppAsset } from '../../src/main/app-protocol.js';
import { RENDERER_CSP, RENDERER_CSP_HEADER, metaCsp, normalizeCsp } from '../../src/main/csp.js';
import { checkSender, isNavigationAllowed, isPermissionAllowed, isTrustedUrl, trustPolicy, type SenderInfo } from '../../src/main/security.js';

vi.mock('electron', () => {
  throw new Error('a module under test loaded electron at run time (only src/main/index.ts and the preload may)');
});

const WINDOW_ID = 7;
const policy = trustPolicy({ isOwnWebContents: (id) => id === WINDOW_ID });
const devPolicy = trustPolicy({ devServerUrl: 'http://localhost:5173/', isOwnWebContents: (id) => id === WINDOW_ID });
const event = (url: string | null, options: { id?: number; parent?: unknown } = {}): SenderInfo => ({
  sender: { id: options.id ?? WINDOW_ID },
  senderFrame: url === null ? null : { url, parent: options.parent ?? null },
});

describe('checkSender', () => {
  it("accepts the top frame of our window showing our page", () => {
    expect(checkSender(event(APP_INDEX_URL), policy)).toBeNull();
    expect(checkSender(event(`${APP_ORIGIN}/index.html#/history`), policy)).toBeNull();
  });

  it.each([
    ['a web page', 'https://evil.example/index.html'],
    ['a local file', 'file:///home/user/index.html'],
    ['another app:// host', 'app://evil/index.html'],
    ['a lookalike host', 'app://studio.evil/index.html'],
    ['the dev server in a packaged app', 'http://localhost:5173/'],
    ['a data: URL', 'data:text/html,<script>1</script>'],
    ['about:blank', 'about:blank'],
    ['no URL at all', ''],
  ])('rejects a frame showing %s', (_what, url) => {
    const refused = checkSender(event(url), policy);
    expect(refused?.code).toBe('forbidden-sender');
    expect(refused?.message).toMatch(/outside the app/);
  });

  it('rejects our page in a webContents that is not our window', () => {
    expect(checkSender(event(APP_INDEX_URL, { id: 99 }), policy)?.message).toMatch(/not come from a Neural Style Studio window/);
  });

  it('rejects an embedded frame, even one showing our page', () => {
    expect(checkSender(event(APP_INDEX_URL, { parent: {} }), policy)?.message).toMatch(/embedded frame/);
  });

  it('rejects a frame that has navigated away or closed (senderFrame null)', () => {
    expect(checkSender(event(null), policy)?.message).toMatch(/no longer open/);
  });

  it('trusts the Vite dev server only when it is the configured dev renderer', () => {
    expect(checkSender(event('http://localhost:5173/'), devPolicy)).toBeNull();
    expect(checkSender(event('http://localhost:5174/'), devPolicy)?.code).toBe('forbidden-sender');
  });
});

describe('permissions and navigation', () => {
  it('grants only clipboard access, and only to our page', () => {
    expect(isPermissionAllowed('clipboard-read', APP_INDEX_URL, policy)).toBe(true);
    expect(isPermissionAllowed('clipboard-sanitized-write', APP_ORIGIN, policy)).toBe(true);
    expect(isPermissionAllowed('clipboard-read', 'https://evil.example/', policy)).toBe(false);
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'fullscreen', 'hid', 'serial', 'usb', 'unknown']) {
      expect(isPermissionAllowed(permission, APP_INDEX_URL, policy), permission).toBe(false);
    }
  });

  it('allows no navigation away from the page (dropped files, links, scripts)', () => {
    for (const url of ['file:///tmp/photo.jpg', 'https://example.com/', APP_INDEX_URL, 'app://studio/other.html']) {
      expect(isNavigationAllowed(url), url).toBe(false);
    }
  });

  it('parses origins the way Chromium does for our standard scheme', () => {
    expect(isTrustedUrl('app://studio/assets/index.js', policy)).toBe(true);
    expect(isTrustedUrl('APP://STUDIO/index.html', policy)).toBe(true);
    expect(isTrustedUrl('not a url', policy)).toBe(false);
  });
});

describe('app:// protocol', () => {
  let rendererDir: string;

  beforeAll(async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'nst-app-protocol-'));
    rendererDir = path.join(root, 'renderer');
    await mkdir(path.join(rendererDir, 'assets'), { recursive: true });
    await writeFile(path.join(rendererDir, 'index.html'), '<!doctype html><title>t</title>');
    await writeFile(path.join(rendererDir, 'assets', 'index-abc.js'), 'export {};');
    await writeFile(path.join(root, 'secret.txt'), 'outside the renderer');
  });

  it('registers a standard, secure scheme that does not bypass the CSP', () => {
    expect(APP_SCHEME_PRIVILEGES.scheme).toBe('app');
    expect(APP_SCHEME_PRIVILEGES.privileges).toMatchObject({ standard: true, secure: true });
    expect(APP_SCHEME_PRIVILEGES.privileges?.bypassCSP).toBeUndefined();
    expect(APP_SCHEME_PRIVILEGES.privileges?.corsEnabled).toBeUndefined();
    expect(APP_SCHEME_PRIVILEGES.privileges?.allowServiceWorkers).toBeUndefined();
  });

  it('serves files inside the renderer folder with their type, the CSP header and nosniff', async () => {
    const handler = createAppRequestHandler(rendererDir);
    const page = await handler(new Request(APP_INDEX_URL));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toBe(RENDERER_CSP_HEADER);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toContain('<title>t</title>');
    const script = await handler(new Request(`${APP_ORIGIN}/assets/index-abc.js`));
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await handler(new Request(`${APP_ORIGIN}/`))).status).toBe(200);
  });

  it.each([
    ['a parent-folder escape', `${APP_ORIGIN}/../secret.txt`],
    ['an encoded escape', `${APP_ORIGIN}/%2e%2e/secret.txt`],
    ['an encoded backslash escape', `${APP_ORIGIN}/..%5csecret.txt`],
    ['a double-encoded escape', `${APP_ORIGIN}/%252e%252e/secret.txt`],
  ])('never serves a file outside the renderer folder: %s', async (_what, url) => {
    const handler = createAppRequestHandler(rendererDir);
    const response = await handler(new Request(url));
    expect(response.status).not.toBe(200);
    if (response.body) expect(await response.text()).not.toContain('outside the renderer');
  });

  it('answers other hosts, bad encodings and non-GET methods with an error status', async () => {
    const handler = createAppRequestHandler(rendererDir);
    expect((await handler(new Request('app://evil/index.html'))).status).toBe(404);
    expect((await handler(new Request(`${APP_ORIGIN}/missing.js`))).status).toBe(404);
    expect((await handler(new Request(`${APP_ORIGIN}/bad%zzname.js`))).status).toBe(400);
    expect((await handler(new Request(APP_INDEX_URL, { method: 'POST', body: 'x' }))).status).toBe(405);
    expect(resolveAppAsset(`${APP_ORIGIN}/a%00b.js`, rendererDir)).toEqual({ ok: false, status: 400 });
  });
});

describe('CSP', () => {
  it("adds frame-ancestors 'none' to the header (a meta tag cannot say it)", () => {
    expect(RENDERER_CSP_HEADER).toBe(`${RENDERER_CSP}; frame-ancestors 'none'`);
    expect(RENDERER_CSP).not.toContain('frame-ancestors');
  });

  it('reads a meta CSP in either quoting, and compares policies ignoring spacing', () => {
    expect(metaCsp(`<meta http-equiv="Content-Security-Policy" content="default-src 'self'">`)).toBe("default-src 'self'");
    expect(metaCsp(`<meta content="default-src 'none'" http-equiv='content-security-policy'>`)).toBe("default-src 'none'");
    expect(metaCsp('<meta charset="utf-8">')).toBeNull();
    expect(normalizeCsp(" default-src  'self' ;script-src 'self';")).toBe("default-src 'self'; script-src 'self'");
  });
});

describe('Electron stays at the edges', () => {
  it('only src/main/index.ts loads Electron at run time; every other main-process module runs in plain Node', async () => {
    const mainDir = path.resolve(import.meta.dirname, '../../src/main');
    const files = (await readdir(mainDir, { recursive: true })).filter((f) => f.endsWith('.ts')).map((f) => path.join(mainDir, f));
    const offenders: string[] = [];
    for (const file of files) {
      if (file === path.join(mainDir, 'index.ts')) continue;
      const source = await readFile(file, 'utf8');
      const runtimeImport = /^\s*import\s+(?!type\b)[^;]*?from\s+['"]electron['"]/m.test(source) || /\bimport\(\s*['"]electron['"]\s*\)|require\(\s*['"]electron['"]\s*\)/.test(source);
      if (runtimeImport) offenders.push(path.relative(mainDir, file));
    }
    expect(offenders).toEqual([]);
  });
});
