// The size control's memory line in the browser host (npm run serve + headless Debian chromium, real services over
// the WebSocket): the estimate appears under the size, a size over a small memory limit brings the proposal, and
// each of its actions makes the run fit. The video options persist across a reload; the ffmpeg is the host's to choose.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, hasShared, sharedPath } from '../helpers/shared-data.js';
import { collectPageProblems, hasChromium, launchChromium, type LaunchedBrowser } from './helpers/browser.js';
import { serveCommand, startStudioServer, type StudioServer } from './helpers/studio-server.js';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'renderer-e2e');
const CONTENT = sharedPath('data', 'images', 'content_tubingen_128.png');
const STYLE = sharedPath('data', 'images', 'style_starry_night_128.png');
const WEIGHTS = sharedPath('data', 'vgg19-imagenet-uint8');

function skipReason(): string | null {
  if (!hasChromium()) return '/usr/bin/chromium is absent (apt-get install chromium)';
  if (!hasShared('data', 'images', 'content_tubingen_128.png') || !hasShared('data', 'images', 'style_starry_night_128.png')) return '../shared/data/images is absent';
  if (!hasShared('data', 'vgg19-imagenet-uint8')) return '../shared/data/vgg19-imagenet-uint8 is absent';
  if (!serveCommand(REPO_ROOT)) return 'this checkout has no `npm run serve` (the browser host)';
  return null;
}

const reason = skipReason();
if (reason) console.warn(`[renderer-e2e memory] skipped: ${reason}`);

describe.skipIf(reason !== null)('memory estimate by the size control (npm run serve + chromium)', () => {
  let server: StudioServer;
  let chromium: LaunchedBrowser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startStudioServer({ repoRoot: REPO_ROOT, weights: WEIGHTS });
    chromium = await launchChromium({ width: 1440, height: 1000 });
    page = await chromium.context.newPage();
    collectPageProblems(page, problems);
  }, 300_000);

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
  });

  it('shows the estimate, proposes the largest size or tiles when it does not fit, and applies either', { timeout: 180_000 }, async () => {
    const shot = (name: string): Promise<Buffer> => page.screenshot({ path: path.join(ARTIFACTS, `memory-${name}.png`) });
    const line = page.getByTestId('memory-estimate');
    await page.goto(server.url);
    await expect.poll(() => page.getByTestId('start').isVisible()).toBe(true);
    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await expect.poll(() => page.getByText('128 × 128 px').count()).toBe(1);

    // The default 384 px against the memory available now.
    await expect.poll(() => line.textContent(), { timeout: 30_000 }).toMatch(/≈ [\d.]+ (MB|GB) of [\d.]+ (MB|GB) available for 384 × 384 px/);

    // A 900 MB limit and 1024 px: about 5 GB with L-BFGS, so it does not fit.
    await page.getByTestId('param-memory-limit').fill('900');
    await page.getByTestId('param-size').fill('1024');
    await expect.poll(() => line.getAttribute('data-fits'), { timeout: 30_000 }).toBe('false');
    await expect.poll(() => line.textContent()).toMatch(/of 900 MB limit for 1024 × 1024 px · does not fit/);
    const proposal = page.getByTestId('memory-proposal');
    await expect.poll(() => proposal.isVisible()).toBe(true);
    const useLargest = page.getByTestId('use-largest-size');
    const largestText = (await useLargest.textContent()) ?? '';
    const largest = Number(/Use (\d+) px \(largest that fits\)/.exec(largestText)?.[1]);
    expect(largest, largestText).toBeGreaterThanOrEqual(64);
    expect(largest).toBeLessThan(1024);
    expect(await page.getByTestId('use-tiles').textContent()).toMatch(/Render in \d+ tiles of \d+ px/);
    // With tiling on automatic, the line also says what Start would do.
    expect(await page.getByTestId('memory-plan').textContent()).toMatch(/Start renders \d+ tiles of \d+ px/);
    await shot('01-proposal');

    // One click: the largest size that fits.
    await useLargest.click();
    await expect.poll(() => page.getByTestId('param-size').inputValue()).toBe(String(largest));
    await expect.poll(() => line.getAttribute('data-fits'), { timeout: 30_000 }).toBe('true');
    expect(await proposal.count()).toBe(0);
    await shot('02-largest');

    // The other click: tiles of the proposed size; the proposal goes, the plan stays.
    await page.getByTestId('param-size').fill('1024');
    await expect.poll(() => proposal.isVisible(), { timeout: 30_000 }).toBe(true);
    const tilesText = (await page.getByTestId('use-tiles').textContent()) ?? '';
    const tilePx = /tiles of (\d+) px/.exec(tilesText)?.[1];
    await page.getByTestId('use-tiles').click();
    await expect.poll(() => page.getByTestId('param-tile').inputValue()).toBe('size');
    await expect.poll(() => page.getByTestId('param-tile-px').inputValue()).toBe(tilePx);
    await expect.poll(() => proposal.count(), { timeout: 30_000 }).toBe(0);
    await expect.poll(() => page.getByTestId('memory-plan').textContent()).toMatch(new RegExp(`Start renders \\d+ tiles of ${tilePx} px`));
    await shot('03-tiles');

    expect(await page.getByTestId('error').count(), await page.getByTestId('error').allTextContents().then((t) => t.join(' | '))).toBe(0);
    expect(problems).toEqual([]);
  });

  it('keeps the memory limit, tiling and video options across a reload, says which ffmpeg is used, and takes no ffmpeg path from the page', { timeout: 120_000 }, async () => {
    await page.getByTestId('video-fps').fill('24');
    await page.getByTestId('record-timelapse').uncheck();
    const ffmpeg = page.getByTestId('ffmpeg-status');
    await expect.poll(() => ffmpeg.getAttribute('data-found'), { timeout: 30_000 }).toMatch(/^(true|false)$/);
    // Choosing an ffmpeg sits with the other ffmpeg details, behind the disclosure: in the browser the host's command
    // line says which (the host runs what is named, so the page names none).
    await ffmpeg.getByText('Details', { exact: true }).click();
    expect(await ffmpeg.locator('input').count()).toBe(0);
    await page.getByTestId('ffmpeg-choose').click();
    await expect.poll(() => page.getByTestId('ffmpeg-choice-help').textContent()).toContain('npm run serve -- --ffmpeg PATH');
    // Saves are debounced: give them a moment before reloading.
    await page.waitForTimeout(1500);
    await page.reload();
    await expect.poll(() => page.getByTestId('start').isVisible()).toBe(true);
    await expect.poll(() => page.getByTestId('param-memory-limit').inputValue()).toBe('900');
    await expect.poll(() => page.getByTestId('param-tile').inputValue()).toBe('size');
    await expect.poll(() => page.getByTestId('video-fps').inputValue()).toBe('24');
    expect(await page.getByTestId('record-timelapse').isChecked()).toBe(false);
    expect(problems).toEqual([]);
  });

  it('a run over the limit renders in tiles: the notice shows, steering is off with the reason, and it ends at the requested size', { timeout: 240_000 }, async () => {
    await page.goto(server.url);
    await expect.poll(() => page.getByTestId('start').isVisible()).toBe(true);
    await page.getByTestId('content-input').setInputFiles(CONTENT);
    await page.getByTestId('style-input').setInputFiles(STYLE);
    await expect.poll(() => page.getByText('128 × 128 px').count()).toBe(2);
    // 256 px with Adam needs about 813 MB: over 700 MB, so Start tiles (4 tiles after a 128-px pass), 1 iteration each.
    await page.getByTestId('param-tile').selectOption('auto');
    await page.getByTestId('param-optimizer').selectOption('adam');
    await page.getByTestId('param-memory-limit').fill('700');
    await page.getByTestId('param-size').fill('256');
    await page.getByTestId('param-iterations').fill('1');
    await page.getByTestId('param-iterations').press('Tab');
    await expect.poll(() => page.getByTestId('memory-plan').textContent(), { timeout: 30_000 }).toMatch(/Start renders 4 tiles/);

    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('run-notice').first().textContent(), { timeout: 60_000 }).toMatch(
      /^256x256 needs about \d+ MB, over the 700 MB memory limit: rendering 4 tiles of \d+ px/,
    );
    await expect.poll(() => page.getByTestId('steer-blocked').textContent(), { timeout: 30_000 }).toMatch(/Tiled runs/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'memory-04-tiled-run.png') });
    await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), { timeout: 200_000 }).toBe('done');
    await expect.poll(() => page.getByTestId('history-entry').count()).toBe(1);
    // The finished image is the requested 256 × 256; the iterations are the pass's and the 4 tiles'.
    expect(await page.getByTestId('history-entry').textContent()).toMatch(/256×256 · 5 it/);
    // Done: the steering note goes with the run; the notice stays with its result.
    expect(await page.getByTestId('steer-blocked').count()).toBe(0);
    expect(await page.getByTestId('run-notice').count()).toBe(1);
    expect(await page.getByTestId('error').count(), await page.getByTestId('error').allTextContents().then((t) => t.join(' | '))).toBe(0);
    expect(problems).toEqual([]);
  });
});
