// The packaged-shape app end to end: the built out/ launched in the real Electron binary through playwright's
// _electron. Checks the window's hardening from inside, then the main flow: open content and style, pick a
// preset, toggle a layer, start, watch the preview change, steer a layer weight mid-run, stop, export a PNG.
// Skips, saying why, where the Electron binary was not downloaded (ELECTRON_SKIP_BINARY_DOWNLOAD) or no display.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findElectronBinary } from '../../scripts/electron-binary.mjs';
import { ensureElectronBuild } from '../helpers/electron-build.js';
import { REPO_ROOT, hasShared, sharedPath } from '../helpers/shared-data.js';
import { collectPageProblems } from '../renderer-e2e/helpers/browser.js';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'electron-e2e');
const CONTENT = sharedPath('data', 'images', 'content_tubingen_128.png');
const STYLE = sharedPath('data', 'images', 'style_starry_night_128.png');
const WEIGHTS = sharedPath('data', 'vgg19-imagenet-uint8');

const electron = findElectronBinary(REPO_ROOT);

function skipReason(): string | null {
  if (electron.path === null) return `${electron.reason}; run npm install without ELECTRON_SKIP_BINARY_DOWNLOAD to run these`;
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return 'no display (run under xvfb-run)';
  if (!hasShared('data', 'images', 'content_tubingen_128.png') || !hasShared('data', 'images', 'style_starry_night_128.png')) {
    return '../shared/data/images is absent';
  }
  if (!hasShared('data', 'vgg19-imagenet-uint8')) return '../shared/data/vgg19-imagenet-uint8 is absent';
  return null;
}

const reason = skipReason();
if (reason) console.warn(`[electron-e2e] skipped: ${reason}`);

/** Mean absolute difference per channel (0–255) between two same-sized PNG screenshots. */
async function meanDifference(a: Buffer, b: Buffer): Promise<number> {
  const [ra, rb] = await Promise.all([a, b].map((png) => sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true })));
  expect([ra!.info.width, ra!.info.height]).toEqual([rb!.info.width, rb!.info.height]);
  let sum = 0;
  for (let i = 0; i < ra!.data.length; i++) sum += Math.abs(ra!.data[i]! - rb!.data[i]!);
  return sum / ra!.data.length;
}

const numberAttr = async (page: Page, testId: string, name: string): Promise<number> => Number(await page.getByTestId(testId).getAttribute(name));

describe.skipIf(reason !== null)('the desktop studio (Electron)', () => {
  let app: ElectronApplication;
  let page: Page;
  let dataDir: string;
  const problems: string[] = [];

  beforeAll(async () => {
    ensureElectronBuild();
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = mkdtempSync(path.join(tmpdir(), 'nst-electron-data-'));
    app = await _electron.launch({
      executablePath: electron.path as string,
      // Root containers cannot use Chromium's setuid sandbox; the renderer sandbox (sandbox: true) still applies.
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), REPO_ROOT],
      env: { ...process.env, NST_WEIGHTS: WEIGHTS, NST_USER_DATA_DIR: dataDir, ELECTRON_ENABLE_LOGGING: '1' },
      timeout: 120_000,
    });
    page = await app.firstWindow();
    collectPageProblems(page, problems);
    await page.evaluate(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`);
      });
    });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the page from app:// with no Node in it and only window.api exposed', async () => {
    expect(page.url()).toMatch(/^app:\/\/studio\//);
    const globals = await page.evaluate(() => ({
      require: typeof (globalThis as { require?: unknown }).require,
      process: typeof (globalThis as { process?: unknown }).process,
      api: Object.keys((window as unknown as { api: object }).api).sort(),
      popup: window.open('https://example.com/') === null,
      csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? null,
    }));
    expect(globals.require).toBe('undefined');
    expect(globals.process).toBe('undefined');
    expect(globals.api).toEqual(
      ['exportImage', 'getAppInfo', 'getSettings', 'onMenuAction', 'onRunEvent', 'pauseRun', 'resumeRun', 'saveSettings', 'startRun', 'stopRun', 'updateRunSettings'].sort(),
    );
    expect(globals.popup).toBe(true);
    expect(globals.csp).toContain("default-src 'self'");
    // Navigation away is refused: the page stays where it is.
    await page.evaluate(() => {
      window.location.href = 'https://example.com/';
    });
    await page.waitForTimeout(500);
    expect(page.url()).toMatch(/^app:\/\/studio\//);
  });

  it('paints, steers, stops and exports', { timeout: 420_000 }, async () => {
    const shot = (name: string): Promise<Buffer> => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
    await expect.poll(() => page.getByTestId('start').isVisible(), { timeout: 60_000 }).toBe(true);
    await shot('01-empty');

    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await expect.poll(() => page.getByText('content_tubingen_128.png').isVisible()).toBe(true);

    const preset = page.getByTestId('preset-select');
    await preset.selectOption('pair-block1_conv1+block4_conv1');
    await expect.poll(() => page.getByTestId('layer-block1_conv1-style').isChecked()).toBe(true);
    await page.getByTestId('layer-block4_conv2-content').check();
    await page.getByTestId('param-size').fill('128');
    await page.getByTestId('param-iterations').fill('400');
    await page.getByTestId('param-iterations').press('Tab');
    await shot('02-ready');

    await page.getByTestId('start').click();
    const status = page.getByTestId('status');
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 120_000 }).toBe('running');
    await expect.poll(() => numberAttr(page, 'preview', 'data-frames'), { timeout: 120_000 }).toBeGreaterThanOrEqual(1);
    const preview = page.getByTestId('preview');
    const framesBefore = await numberAttr(page, 'preview', 'data-frames');
    const first = await preview.screenshot({ path: path.join(ARTIFACTS, '03-preview-early.png') });
    await expect.poll(() => numberAttr(page, 'preview', 'data-frames'), { timeout: 60_000 }).toBeGreaterThan(framesBefore + 1);
    const second = await preview.screenshot({ path: path.join(ARTIFACTS, '04-preview-later.png') });
    expect(await meanDifference(first, second), 'the preview pixels should change while the run paints').toBeGreaterThan(0.5);

    const chart = page.getByTestId('loss-chart');
    await expect.poll(() => numberAttr(page, 'loss-chart', 'data-points'), { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
    const totalBefore = Number(await chart.getAttribute('data-last-total'));
    const iterationBefore = await numberAttr(page, 'loss-chart', 'data-last-iteration');
    await page.getByTestId('layer-block1_conv1-weight').fill('1000');
    await expect.poll(() => numberAttr(page, 'loss-chart', 'data-last-iteration'), { timeout: 90_000 }).toBeGreaterThanOrEqual(iterationBefore + 3);
    expect(Number(await chart.getAttribute('data-last-total'))).toBeGreaterThan(totalBefore * 1.5);
    await shot('05-steered');

    await page.getByTestId('stop').click();
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 60_000 }).toMatch(/^(stopped|done)$/);
    await shot('06-stopped');

    // The native save dialog cannot be clicked by a test: answer it from the main process instead.
    const file = path.join(ARTIFACTS, 'export.png');
    await app.evaluate(({ dialog }, filePath) => {
      dialog.showSaveDialog = (async () => ({ canceled: false, filePath })) as typeof dialog.showSaveDialog;
    }, file);
    await page.getByTestId('export-png').check();
    await page.getByTestId('export').click();
    await expect.poll(() => existsSync(file), { timeout: 60_000 }).toBe(true);
    const meta = await sharp(readFileSync(file)).metadata();
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height]).toEqual([128, 128]);

    expect(await page.getByTestId('error').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
