// The renderer on its own: built by vite.renderer.config.ts (its index.html CSP intact, no 'unsafe-inline'), served
// as static files, with a fake window.api. Covers what the engine need not be running for: the strict CSP holds
// through a whole session, failures read as plain words, and a page without its token says how to open it.

import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, hasShared, sharedPath } from '../helpers/shared-data.js';
import { collectPageProblems, fakeApiScript, hasChromium, launchChromium, serveFolder, type LaunchedBrowser } from './helpers/browser.js';
import { rendererBuild, type RendererBuild } from '../helpers/renderer-build.js';
import type { FakeApiOptions } from './helpers/fake-api.js';
import { DEFAULT_STUDIO_SETTINGS } from '../../src/shared/studio-settings.js';

const CONTENT = sharedPath('data', 'images', 'content_tubingen_128.png');
const STYLE = sharedPath('data', 'images', 'style_starry_night_128.png');
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'renderer-e2e');

const reason = !hasChromium()
  ? '/usr/bin/chromium is absent (apt-get install chromium)'
  : !hasShared('data', 'images', 'content_tubingen_128.png')
    ? '../shared/data/images is absent'
    : null;
if (reason) console.warn(`[renderer-e2e] renderer-only tests skipped: ${reason}`);

describe.skipIf(reason !== null)('renderer with a fake host (strict CSP, no engine)', () => {
  let built: RendererBuild | undefined;
  let server: { url: string; close(): Promise<void> };
  let chromium: LaunchedBrowser;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    built = await rendererBuild();
    server = await serveFolder(built.dir);
    chromium = await launchChromium({ width: 1280, height: 800 });
  }, 180_000);

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    built?.release();
  });

  async function open(options: Partial<FakeApiOptions> | null, query = ''): Promise<void> {
    page = await chromium.context.newPage();
    problems = [];
    collectPageProblems(page, problems);
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`);
      });
    });
    if (options) await page.addInitScript({ content: fakeApiScript({ msPerIteration: 40, devices: ['cpu'], ...options }) });
    await page.goto(`${server.url}${query}`);
  }

  afterEach(async () => {
    await page?.close();
  });

  it('ships a CSP without unsafe-inline or unsafe-eval', () => {
    const html = readFileSync(path.join(built!.dir, 'index.html'), 'utf8');
    const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
  });

  it('runs a whole session under that CSP without a single violation', { timeout: 120_000 }, async () => {
    await open({});
    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await page.getByTestId('param-iterations').fill('30');
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), { timeout: 30_000 }).toBe('done');
    await expect.poll(() => page.getByTestId('loss-chart').getAttribute('data-points')).toBe('30');

    // Compare, zoom and pan by keyboard: the viewer is reachable and usable without a mouse.
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.getByTestId('preview').focus();
    await page.keyboard.press('+');
    await page.keyboard.press('ArrowLeft');
    await page.screenshot({ path: path.join(ARTIFACTS, 'fake-compare.png') });

    // Restore from history: the layer change made after the run is undone by the run's own settings.
    await page.getByTestId('layer-block2_conv1-style').uncheck();
    await expect.poll(() => page.getByTestId('preset-select').inputValue()).toBe('custom');
    await page.getByTestId('history-entry').click();
    await expect.poll(() => page.getByTestId('preset-select').inputValue()).toBe('gatys');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
    const meta = await sharp(readFileSync((await download.path())!)).metadata();
    expect(meta.format).toBe('png');
    expect(problems).toEqual([]);
  });

  it('offers runs an earlier session left unfinished: Discard drops one, Resume finishes the other from its iteration', { timeout: 60_000 }, async () => {
    const settings = { ...structuredClone(DEFAULT_STUDIO_SETTINGS), sizePx: 64, iterations: 30 };
    const entry = (runId: string, contentName: string) => ({ runId, contentName, styleNames: ['starry.png'], settings, sizePx: 64, iteration: 20, totalIterations: 30, savedAt: '2026-11-29T11:56:38.451Z' });
    await open({ interrupted: [entry('run-2-0000beef', 'tubingen.png'), entry('run-1-0000cafe', 'beach.png')] });
    await expect.poll(() => page.getByTestId('interrupted-run').count()).toBe(2);
    await expect.poll(() => page.getByTestId('interrupted-runs').textContent()).toContain('iteration 20 of 30');
    await page.screenshot({ path: path.join(ARTIFACTS, 'fake-interrupted-runs.png') });
    await page.locator('[data-run-id="run-1-0000cafe"]').getByRole('button', { name: 'Discard' }).click();
    await expect.poll(() => page.getByTestId('interrupted-run').count()).toBe(1);
    await page.locator('[data-run-id="run-2-0000beef"]').getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), { timeout: 30_000 }).toBe('done');
    // The chart holds the resumed iterations only (21..30), and the offer is gone.
    await expect.poll(() => page.getByTestId('loss-chart').getAttribute('data-points')).toBe('10');
    await expect.poll(() => page.getByTestId('interrupted-runs').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('refuses a file that is not an image, naming it', async () => {
    await open({});
    await page.getByTestId('content-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await expect.poll(() => page.getByTestId('refused-file').textContent()).toContain('“notes.txt” is not an image');
  });

  it('shows a failed start in plain words, and dismisses it', async () => {
    await open({ failStart: { code: 'WEIGHTS_MISSING', message: 'No VGG19 weights are installed.' } });
    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('error').textContent()).toContain('No VGG19 weights are installed.');
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state')).toBe('error');
    await page.getByRole('button', { name: 'Dismiss this message' }).click();
    await expect.poll(() => page.getByTestId('error').count()).toBe(0);
  });

  it('a fresh install runs on the built-in weights: the Model panel names them with their credit and offers the full-precision download as an upgrade', { timeout: 60_000 }, async () => {
    await open({ weightsInstalled: false, builtInWeights: true });
    await expect.poll(() => page.getByTestId('model-status').getAttribute('data-active')).toBe('builtin');
    expect(await page.getByTestId('model-status').textContent()).toContain('Runs use the built-in VGG19 (uint8-quantized, 20 MB)');
    expect(await page.getByTestId('model-credit').textContent()).toContain('Visual Geometry Group, University of Oxford (CC BY 4.0)');
    expect(await page.getByTestId('model-download').textContent()).toMatch(/Download full-precision VGG19 \(80 MB\)/);
    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await expect.poll(() => page.getByTestId('start').isDisabled()).toBe(false);
    expect(problems).toEqual([]);
  });

  it('with no weights at all (an install without the built-in ones), leads with the Model panel: a Download button with progress, then installed', { timeout: 60_000 }, async () => {
    await open({ weightsInstalled: false });
    await expect.poll(() => page.getByTestId('model-status').getAttribute('data-installed')).toBe('false');
    expect(await page.getByTestId('model-status').textContent()).toContain('No weights to run with');
    const download = page.getByTestId('model-download');
    expect(await download.textContent()).toMatch(/Download full-precision VGG19 \(80 MB\)/);
    await expect.poll(() => page.getByTestId('start').isDisabled()).toBe(true);
    await download.click();
    await expect.poll(() => page.getByTestId('model-status').getAttribute('data-installed'), { timeout: 10_000 }).toBe('true');
    expect(await page.evaluate(() => (window as unknown as { __nstFakeCalls: { fetchWeights: number } }).__nstFakeCalls.fetchWeights)).toBe(1);
    expect(problems).toEqual([]);
  });

  it('damaged installed weights (issue 13, class 8) read as damaged with the host\'s sentence, never as the installed weights runs use; a download replaces them', { timeout: 60_000 }, async () => {
    const sentence = 'The installed weights index /fake/data/weights/vgg19.json is damaged: its blob /fake/data/weights/vgg19.bin holds 1000 bytes, not the 80000000 it lists. Install the weights again (fetch or import).';
    await open({ weightsDamaged: sentence });
    await expect.poll(() => page.getByTestId('model-status').getAttribute('data-installed')).toBe('damaged');
    const status = await page.getByTestId('model-status').textContent();
    expect(status).toContain('The installed weights are damaged: runs refuse them.');
    expect(status).not.toContain('Runs use');
    expect(await page.getByTestId('model-damaged').textContent()).toBe(sentence);
    await expect.poll(() => page.getByTestId('start').isDisabled()).toBe(true);
    await page.getByTestId('model-download').click();
    await expect.poll(() => page.getByTestId('model-status').getAttribute('data-installed'), { timeout: 10_000 }).toBe('true');
    expect(await page.getByTestId('model-damaged').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('imports a chosen weights file through the Model panel', async () => {
    await open({ weightsInstalled: false });
    await page.getByTestId('model-import-input').setInputFiles({ name: 'vgg19.h5', mimeType: 'application/octet-stream', buffer: Buffer.from('HDF') });
    await expect.poll(() => page.evaluate(() => (window as unknown as { __nstFakeCalls: { importWeights: string[][] } }).__nstFakeCalls.importWeights)).toEqual([['vgg19.h5']]);
  });

  it('Export video sends the chosen options for the finished run, shows progress, and downloads the file', { timeout: 120_000 }, async () => {
    await open({});
    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await page.getByTestId('param-iterations').fill('6');
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), { timeout: 30_000 }).toBe('done');
    await page.getByTestId('video-format').selectOption('gif');
    await page.getByTestId('video-side-by-side').check();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-video').click()]);
    expect(download.suggestedFilename()).toBe('neural-style-run-1.gif');
    const calls = await page.evaluate(() => (window as unknown as { __nstFakeCalls: { exportVideo: unknown[] } }).__nstFakeCalls.exportVideo);
    expect(calls).toEqual([{ runId: 'run-1', format: 'gif', fps: 10, holdFinalSeconds: 1, sideBySide: true, caption: false }]);
    // A past run exports from History the same way.
    await Promise.all([page.waitForEvent('download'), page.getByTestId('history-export-video').first().click()]);
    await expect.poll(async () => (await page.evaluate(() => (window as unknown as { __nstFakeCalls: { exportVideo: unknown[] } }).__nstFakeCalls.exportVideo)).length).toBe(2);
    expect(problems).toEqual([]);
  });

  it('opened without the host or its token, says how to open it instead of a blank page', async () => {
    await open(null);
    await expect.poll(() => page.getByTestId('error').textContent()).toContain('access token');
  });
});
